// The call: one RTCPeerConnection per peer in the session (a mesh), negotiated with the
// "perfect negotiation" pattern from webrtc/samples. The server tells each side whether it is
// polite towards a peer; the impolite side adds its tracks first so it makes the first offer.
//
// Recovery, cheapest first: a connection that drops is given an ICE restart (restartIce());
// a peer that starts afresh (a reload: its DTLS fingerprint changes) gets a fresh connection.

import { sampleStats } from "./quality.js";

const POLITE_FALLBACK_MS = 4000; // a polite side that hears no offer makes one itself
const DISCONNECTED_GRACE_MS = 2000; // "disconnected" often heals by itself within a second or two
const POLITE_RESTART_DELAY_MS = 3000; // the impolite side restarts first; the polite one backs it up
const STATS_EVERY_MS = 2000;
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

export class Call {
  /**
   * @param {object} opts
   * @param {(msg: object) => boolean} opts.send sends one signaling message (false: not sent)
   * @param {MediaStream|null} opts.localStream the tracks to send (kept up to date by replaceTrack)
   * @param {(peerId: string, stream: MediaStream) => void} opts.onRemoteStream
   * @param {(peerId: string) => void} opts.onPeerClosed
   * @param {(peerId: string, state: string) => void} [opts.onPeerState] connectionState changes
   * @param {(peerId: string, sample: object) => void} [opts.onStats] every few seconds, per peer
   */
  constructor(opts) {
    this.send = opts.send;
    this.localStream = opts.localStream || null;
    this.onRemoteStream = opts.onRemoteStream;
    this.onPeerClosed = opts.onPeerClosed;
    this.onPeerState = opts.onPeerState || (() => {});
    this.onStats = opts.onStats || null;
    this.iceServers = [];
    // "relay" in relay-only privacy mode (the server's welcome): TURN relay candidates only.
    this.iceTransportPolicy = "all";
    this.peers = new Map(); // id -> peer record
    this.pcs = new Map(); // id -> RTCPeerConnection (also exposed for tests)
    this.listed = new Map(); // id -> {polite, connected} from the last `session`
    this.buffered = new Map(); // id -> messages that came before the peer was known
    this._statsTimer = null;
    window.__rapport = Object.assign(window.__rapport || {}, { pcs: this.pcs, call: this });
  }

  /** ICE servers (welcome, ice_servers) and, when given, the welcome's transport policy. */
  setIceServers(servers, policy) {
    this.iceServers = cleanIceServers(servers);
    if (policy !== undefined) this.iceTransportPolicy = policy === "relay" ? "relay" : "all";
    for (const pc of this.pcs.values()) {
      try {
        pc.setConfiguration({
          ...pc.getConfiguration(),
          iceServers: this.iceServers,
          iceTransportPolicy: this.iceTransportPolicy,
        });
      } catch (err) {
        console.warn("could not update ICE servers", err);
      }
    }
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
        this._createPeer(id, p.polite);
      } else if (before && !before.connected) {
        // They are back after a drop: resend what they may have missed, and restart ICE on the
        // connection we both still have if its media broke too.
        if (peer.pc.signalingState === "have-local-offer") this._enqueue(peer, { type: "resume" });
        if (peer.pc.connectionState !== "connected") {
          this._scheduleRestart(peer, peer.polite ? POLITE_RESTART_DELAY_MS : 0);
        }
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

  /** Our own signaling is back after a loss: mend what broke meanwhile. */
  resume() {
    for (const peer of [...this.peers.values()]) {
      if (peer.closed) continue;
      peer.unsent = false;
      this._enqueue(peer, { type: "resume" });
    }
  }

  /**
   * An offer of ours may have been lost (sent while signaling was down, or to a peer that
   * dropped): take it back, which makes the browser ask to negotiate again; and if the media
   * path broke as well, restart ICE.
   */
  async _mend(peer) {
    if (peer.pc.signalingState === "have-local-offer" && !peer.makingOffer) {
      await peer.pc.setLocalDescription({ type: "rollback" });
    }
    if (peer.pc.connectionState !== "connected") this._restart(peer);
  }

  /**
   * Send another track of this kind to every peer (a switched device, a shared screen).
   * Resolves once every connection sends it.
   */
  replaceTrack(kind, track) {
    const done = [];
    for (const peer of this.peers.values()) {
      if (!peer.tracksAdded) continue; // they will get the stream's current tracks when added
      const transceiver = peer.pc.getTransceivers()
        .find((tr) => tr.receiver.track.kind === kind && tr.currentDirection !== "stopped");
      if (!transceiver) {
        if (track) peer.pc.addTrack(track, this.localStream);
        continue;
      }
      done.push(transceiver.sender.replaceTrack(track)
        .catch((err) => console.error(`call: replaceTrack to ${peer.id} failed`, err)));
      if (track && (transceiver.direction === "recvonly" || transceiver.direction === "inactive")) {
        // We had nothing of this kind to send before: renegotiate to start sending.
        transceiver.sender.setStreams?.(this.localStream);
        transceiver.direction = "sendrecv";
      }
    }
    return Promise.all(done);
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
      case "resume": // not from the wire: queued by resume() and updatePeers()
        await this._mend(peer);
        break;
      default:
        break;
    }
  }

  async _description(peer, description) {
    let { pc } = peer;
    const theirs = pc.remoteDescription && fingerprint(pc.remoteDescription.sdp);
    if (theirs && theirs !== fingerprint(description.sdp)) {
      // The other side has a brand-new connection (it reloaded and we did not hear its hangup):
      // start one too. To an offer we answer; after an answer we offer again.
      const isOffer = description.type === "offer";
      peer = this._replacePeer(peer, { forOffer: isOffer, initiate: !isOffer });
      if (!isOffer) return;
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
      this._sendTo(peer, { type: "answer", to: peer.id, sdp: pc.localDescription.sdp });
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

  _sendTo(peer, msg) {
    const sent = this.send(msg);
    if (!sent) peer.unsent = true; // resume() mends it once signaling is back
    return sent;
  }

  _createPeer(id, polite, { forOffer = false, initiate = false } = {}) {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers,
      iceTransportPolicy: this.iceTransportPolicy,
    });
    const peer = {
      id,
      pc,
      polite,
      makingOffer: false,
      ignoreOffer: false,
      heardOffer: false,
      tracksAdded: false,
      restarting: false,
      unsent: false,
      closed: false,
      stream: null,
      queue: Promise.resolve(),
      fallback: null,
      restartTimer: null,
      lastTotals: null,
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
      this._sendTo(peer, {
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
        const sent = this._sendTo(peer, { type: "offer", to: id, sdp: pc.localDescription.sdp, restart: peer.restarting });
        if (sent) peer.restarting = false;
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
      clearTimeout(peer.restartTimer);
      const politeDelay = peer.polite ? POLITE_RESTART_DELAY_MS : 0;
      if (state === "failed") this._scheduleRestart(peer, politeDelay);
      else if (state === "disconnected") this._scheduleRestart(peer, DISCONNECTED_GRACE_MS + politeDelay);
    };

    if (initiate || (!polite && !forOffer)) {
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

  _scheduleRestart(peer, delay) {
    clearTimeout(peer.restartTimer);
    peer.restartTimer = setTimeout(() => {
      const state = peer.pc.connectionState;
      if (state === "disconnected" || state === "failed") this._restart(peer);
    }, delay);
  }

  /** Restore media on an existing connection: an ICE restart where the browser can. */
  _restart(peer) {
    if (peer.closed || peer.pc.connectionState === "connected") return;
    if (this.listed.get(peer.id)?.connected === false) return; // they are away: updatePeers retries
    if (typeof peer.pc.restartIce === "function") {
      console.info(`call: ICE restart towards ${peer.id}`);
      peer.restarting = true;
      peer.pc.restartIce(); // fires negotiationneeded: a new offer with fresh ICE credentials
    } else {
      this._replacePeer(peer, { initiate: true });
    }
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

  _replacePeer(peer, how) {
    const { id, polite, queue } = peer;
    this._closePc(peer);
    const fresh = this._createPeer(id, polite, how);
    fresh.queue = queue;
    return fresh;
  }

  _closePc(peer) {
    peer.closed = true;
    clearTimeout(peer.fallback);
    clearTimeout(peer.restartTimer);
    peer.pc.ontrack = null;
    peer.pc.onicecandidate = null;
    peer.pc.onnegotiationneeded = null;
    peer.pc.onconnectionstatechange = null;
    peer.pc.close();
    this.peers.delete(peer.id);
    this.pcs.delete(peer.id);
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
    if (this._statsTimer || !this.onStats) return;
    this._statsTimer = setInterval(() => this._sampleStats(), STATS_EVERY_MS);
  }

  async _sampleStats() {
    for (const [id, peer] of this.peers) {
      if (peer.pc.connectionState !== "connected") continue;
      try {
        const sample = await sampleStats(peer.pc, peer.lastTotals);
        peer.lastTotals = sample.totals;
        this.onStats(id, sample);
      } catch {
        // stats are a nice-to-have
      }
    }
  }
}
