// The call: one RTCPeerConnection per peer in the session (a mesh), negotiated with the
// "perfect negotiation" pattern from webrtc/samples. The server tells each side whether it is
// polite towards a peer; the impolite side adds its tracks first so it makes the first offer.

const POLITE_FALLBACK_MS = 4000; // a polite side that hears no offer makes one itself
const STATS_EVERY_MS = 3000;
const MAX_BUFFERED = 100; // signaling messages kept for a peer we do not know yet

/** The DTLS fingerprint of an SDP: it changes when the other side starts a new connection. */
function fingerprint(sdp) {
  const match = /^a=fingerprint:(.+)$/m.exec(sdp || "");
  return match ? match[1].trim() : "";
}

/** RTCIceServer entries without the nulls the server sends for STUN. */
function cleanIceServers(servers) {
  return (servers || []).map((s) => {
    const entry = { urls: s.urls };
    if (s.username) entry.username = s.username;
    if (s.credential) entry.credential = s.credential;
    return entry;
  });
}

/** good / fair / poor from round-trip time (s) and packet loss (0..1). */
export function qualityLevel(rtt, loss) {
  if ((rtt ?? 0) > 0.4 || loss > 0.05) return "poor";
  if ((rtt ?? 0) > 0.2 || loss > 0.02) return "fair";
  return "good";
}

export class Call {
  /**
   * @param {object} opts
   * @param {(msg: object) => boolean} opts.send sends one signaling message
   * @param {MediaStream|null} opts.localStream
   * @param {(peerId: string, stream: MediaStream) => void} opts.onRemoteStream
   * @param {(peerId: string) => void} opts.onPeerClosed
   * @param {(peerId: string, state: string) => void} [opts.onPeerState]
   * @param {(peerId: string, q: object) => void} [opts.onQuality]
   */
  constructor(opts) {
    this.send = opts.send;
    this.localStream = opts.localStream || null;
    this.onRemoteStream = opts.onRemoteStream;
    this.onPeerClosed = opts.onPeerClosed;
    this.onPeerState = opts.onPeerState || (() => {});
    this.onQuality = opts.onQuality || null;
    this.iceServers = [];
    this.peers = new Map(); // id -> peer record
    this.pcs = new Map(); // id -> RTCPeerConnection (also exposed for tests)
    this.listed = new Map(); // id -> {polite, connected} from the last `session`
    this.buffered = new Map(); // id -> messages that came before the peer was known
    this._statsTimer = null;
    this._lastStats = new Map();
    window.__rapport = Object.assign(window.__rapport || {}, { pcs: this.pcs, call: this });
  }

  setIceServers(servers) {
    this.iceServers = cleanIceServers(servers);
  }

  setLocalStream(stream) {
    this.localStream = stream;
  }

  /** Apply a `session` message: open connections to new peers, close those who left. */
  updatePeers(peers) {
    const seen = new Set();
    for (const p of peers) {
      const id = p.participant_id;
      seen.add(id);
      const before = this.listed.get(id);
      this.listed.set(id, { polite: p.polite, connected: p.connected });
      if (!p.connected) continue; // offers would be lost; wait until they are back
      const peer = this.peers.get(id);
      if (!peer) {
        this._createPeer(id, p.polite, false);
      } else if (before && !before.connected && peer.pc.connectionState !== "connected") {
        // They came back after a drop (maybe a page refresh): start afresh.
        this._replacePeer(peer, false);
      }
    }
    for (const id of [...this.peers.keys()]) {
      if (!seen.has(id)) this.closePeer(id, false);
    }
    for (const id of [...this.listed.keys()]) {
      if (!seen.has(id)) this.listed.delete(id);
    }
    this._startStats();
  }

  /** Apply an offer / answer / candidate / hangup relayed from a peer. */
  handleSignal(msg) {
    const id = msg.from;
    const peer = this.peers.get(id);
    if (!peer) {
      if (msg.type === "hangup") return;
      const list = this.buffered.get(id) || [];
      if (list.length < MAX_BUFFERED) list.push(msg);
      this.buffered.set(id, list);
      return;
    }
    this._enqueue(peer, msg);
  }

  _enqueue(peer, msg) {
    // One message at a time per peer: each step awaits the previous one.
    peer.queue = peer.queue
      .then(() => this._handle(this.peers.get(peer.id) || peer, msg))
      .catch((err) => console.error(`call: ${msg.type} from ${peer.id} failed`, err));
  }

  async _handle(peer, msg) {
    if (peer.closed) return;
    switch (msg.type) {
      case "offer":
      case "answer":
        await this._description(peer, { type: msg.type, sdp: msg.sdp });
        break;
      case "candidate":
        await this._candidate(peer, msg.candidate);
        break;
      case "hangup":
        this.closePeer(peer.id, false);
        break;
      default:
        break;
    }
  }

  async _description(peer, description) {
    let pc = peer.pc;
    if (
      description.type === "offer" &&
      pc.remoteDescription &&
      fingerprint(pc.remoteDescription.sdp) !== fingerprint(description.sdp)
    ) {
      // The other side has a brand-new connection (e.g. it reloaded): answer it with one too.
      peer = this._replacePeer(peer, true);
      pc = peer.pc;
    }
    const collision =
      description.type === "offer" && (peer.makingOffer || pc.signalingState !== "stable");
    peer.ignoreOffer = !peer.polite && collision;
    if (peer.ignoreOffer) return;
    if (description.type === "answer" && pc.signalingState !== "have-local-offer") return;
    await pc.setRemoteDescription(description); // rolls back our own offer when polite
    if (description.type === "offer") {
      peer.heardOffer = true;
      this._addTracks(peer, false);
      await pc.setLocalDescription();
      this.send({ type: "answer", to: peer.id, sdp: pc.localDescription.sdp });
    }
  }

  async _candidate(peer, candidate) {
    if (!candidate || !candidate.candidate) return;
    try {
      await peer.pc.addIceCandidate(candidate);
    } catch (err) {
      if (!peer.ignoreOffer) throw err;
    }
  }

  _createPeer(id, polite, forOffer) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const peer = {
      id,
      pc,
      polite,
      makingOffer: false,
      ignoreOffer: false,
      heardOffer: false,
      tracksAdded: false,
      restarting: false,
      closed: false,
      stream: null,
      queue: Promise.resolve(),
      fallback: null,
    };
    this.peers.set(id, peer);
    this.pcs.set(id, pc);

    pc.ontrack = ({ track, streams }) => {
      if (!peer.stream) peer.stream = streams[0] || new MediaStream();
      if (!peer.stream.getTracks().includes(track)) peer.stream.addTrack(track);
      this.onRemoteStream(id, peer.stream);
    };
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate) return;
      this.send({
        type: "candidate",
        to: id,
        candidate: {
          candidate: candidate.candidate,
          sdpMid: candidate.sdpMid,
          sdpMLineIndex: candidate.sdpMLineIndex,
          usernameFragment: candidate.usernameFragment,
        },
      });
    };
    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        if (pc.localDescription.type !== "offer") return;
        this.send({ type: "offer", to: id, sdp: pc.localDescription.sdp, restart: peer.restarting });
        peer.restarting = false;
      } catch (err) {
        console.error(`call: offer to ${id} failed`, err);
      } finally {
        peer.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      console.info(`call: peer ${id} connectionState ${state}`);
      this.onPeerState(id, state);
      if (state === "failed" && !peer.closed) {
        peer.restarting = true;
        pc.restartIce();
      }
    };

    if (!polite && !forOffer) {
      this._addTracks(peer, true); // the impolite side starts the negotiation
    } else if (!forOffer) {
      peer.fallback = setTimeout(() => {
        if (!peer.closed && !peer.heardOffer) this._addTracks(peer, true);
      }, POLITE_FALLBACK_MS);
    }

    const early = this.buffered.get(id);
    if (early) {
      this.buffered.delete(id);
      early.forEach((msg) => this._enqueue(peer, msg));
    }
    return peer;
  }

  /** Add the local tracks once. When initiating, also ask to receive the kinds we lack. */
  _addTracks(peer, initiating) {
    if (peer.tracksAdded) return;
    peer.tracksAdded = true;
    clearTimeout(peer.fallback);
    const stream = this.localStream;
    const kinds = new Set();
    for (const track of stream ? stream.getTracks() : []) {
      peer.pc.addTrack(track, stream);
      kinds.add(track.kind);
    }
    if (initiating) {
      for (const kind of ["audio", "video"]) {
        if (!kinds.has(kind)) peer.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
  }

  _replacePeer(peer, forOffer) {
    const { id, polite, queue } = peer;
    this._closePc(peer);
    const fresh = this._createPeer(id, polite, forOffer);
    fresh.queue = queue;
    return fresh;
  }

  _closePc(peer) {
    peer.closed = true;
    clearTimeout(peer.fallback);
    peer.pc.ontrack = null;
    peer.pc.onicecandidate = null;
    peer.pc.onnegotiationneeded = null;
    peer.pc.onconnectionstatechange = null;
    peer.pc.close();
    this.peers.delete(peer.id);
    this.pcs.delete(peer.id);
    this._lastStats.delete(peer.id);
  }

  /** Close the connection to one peer; `notify` tells them with a hangup. */
  closePeer(id, notify) {
    const peer = this.peers.get(id);
    if (!peer) return;
    if (notify) this.send({ type: "hangup", to: id });
    this._closePc(peer);
    this.onPeerClosed(id);
  }

  /** Close every connection (leaving the session, sent back, session ended). */
  closeAll(notify = false) {
    for (const id of [...this.peers.keys()]) this.closePeer(id, notify);
    this.listed.clear();
    this.buffered.clear();
    clearInterval(this._statsTimer);
    this._statsTimer = null;
  }

  _startStats() {
    if (this._statsTimer || !this.onQuality) return;
    this._statsTimer = setInterval(() => this._sampleStats(), STATS_EVERY_MS);
  }

  async _sampleStats() {
    for (const [id, peer] of this.peers) {
      if (peer.pc.connectionState !== "connected") continue;
      try {
        this.onQuality(id, await this._quality(id, peer.pc));
      } catch {
        // stats are a nice-to-have
      }
    }
  }

  async _quality(id, pc) {
    const report = await pc.getStats();
    let rtt = null;
    let lost = 0;
    let received = 0;
    let bytes = 0;
    report.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
        rtt = s.currentRoundTripTime ?? rtt;
      } else if (s.type === "inbound-rtp") {
        lost += s.packetsLost || 0;
        received += s.packetsReceived || 0;
        bytes += s.bytesReceived || 0;
      }
    });
    const now = performance.now();
    const last = this._lastStats.get(id) || { lost: 0, received: 0, bytes: 0, at: now };
    this._lastStats.set(id, { lost, received, bytes, at: now });
    const dLost = Math.max(0, lost - last.lost);
    const dReceived = Math.max(0, received - last.received);
    const loss = dLost + dReceived > 0 ? dLost / (dLost + dReceived) : 0;
    const seconds = Math.max(0.001, (now - last.at) / 1000);
    const kbps = Math.round(((bytes - last.bytes) * 8) / 1000 / seconds);
    return { level: qualityLevel(rtt, loss), rtt, loss, kbps };
  }
}
