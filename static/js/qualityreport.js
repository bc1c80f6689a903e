// The call-quality summary a page sends over its socket every `quality_interval` seconds (from
// `welcome`) while it is in a call: what it received from its peers over the last interval, and
// the round trip of its media path, from getStats(). Figures only, never an address: of the
// selected candidate pair only its type (host, srflx, prflx, relay) is sent. The server keeps
// the summaries for the admin monitor and tells the therapist how the client's side is doing.

const CANDIDATE_TYPES = new Set(["host", "srflx", "prflx", "relay"]);
// The bounds the server holds summaries to (signaling/messages.py): never send past them.
const MAX = { ms: 60_000, kbps: 1_000_000, frames: 100_000, pixels: 16_384 };

const clamp = (value, high) => Math.min(high, Math.max(0, value));
const round1 = (value) => Math.round(value * 10) / 10;

/** One connection's running totals from getStats(), and its figures right now. */
async function connectionTotals(pc) {
  const report = await pc.getStats();
  const totals = {
    at: performance.now(), lost: 0, received: 0, bytes: 0, decoded: 0, dropped: 0,
    rtt: null, jitter: null, width: 0, height: 0, candidate: "unknown",
  };
  // The selected pair: the transport's (Chrome), else the nominated one that succeeded.
  let pair = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
  });
  report.forEach((s) => {
    if (!pair && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
  });
  if (pair) {
    if (typeof pair.currentRoundTripTime === "number") totals.rtt = pair.currentRoundTripTime;
    const types = [report.get(pair.localCandidateId), report.get(pair.remoteCandidateId)]
      .map((c) => c?.candidateType).filter((type) => CANDIDATE_TYPES.has(type));
    // Relayed at either end is relayed; otherwise our own end's type.
    if (types.length) totals.candidate = types.includes("relay") ? "relay" : types[0];
  }
  report.forEach((s) => {
    if (s.type === "inbound-rtp") {
      totals.lost += Math.max(0, s.packetsLost || 0);
      totals.received += s.packetsReceived || 0;
      totals.bytes += s.bytesReceived || 0;
      if (typeof s.jitter === "number") totals.jitter = Math.max(totals.jitter ?? 0, s.jitter);
      if (s.kind === "video") {
        totals.decoded += s.framesDecoded || 0;
        totals.dropped += s.framesDropped || 0;
        if ((s.frameWidth || 0) * (s.frameHeight || 0) > totals.width * totals.height) {
          totals.width = s.frameWidth;
          totals.height = s.frameHeight;
        }
      }
    }
  });
  return totals;
}

/**
 * The `quality` message for [{now, before}] (each connection's totals now and at the previous
 * summary, or null): loss, bitrate and frames over the interval, the worst round trip and
 * jitter, the largest picture received.
 */
export function summarize(connections) {
  let lost = 0;
  let received = 0;
  let kbps = null;
  let decoded = 0;
  let dropped = 0;
  let rtt = null;
  let jitter = null;
  let width = 0;
  let height = 0;
  let candidate = "unknown";
  for (const { now, before } of connections) {
    const since = (key) => Math.max(0, now[key] - (before ? before[key] : 0));
    lost += since("lost");
    received += since("received");
    decoded += since("decoded");
    dropped += since("dropped");
    if (before) {
      const seconds = Math.max(0.001, (now.at - before.at) / 1000);
      kbps = (kbps ?? 0) + (since("bytes") * 8) / 1000 / seconds;
    }
    if (now.rtt !== null) rtt = Math.max(rtt ?? 0, now.rtt);
    if (now.jitter !== null) jitter = Math.max(jitter ?? 0, now.jitter);
    if (now.width * now.height > width * height) ({ width, height } = now);
    if (candidate !== "relay" && now.candidate !== "unknown") candidate = now.candidate;
  }
  return {
    type: "quality",
    rtt_ms: rtt === null ? null : round1(clamp(rtt * 1000, MAX.ms)),
    loss_pct: lost + received > 0 ? round1((lost / (lost + received)) * 100) : 0,
    jitter_ms: jitter === null ? null : round1(clamp(jitter * 1000, MAX.ms)),
    bitrate_kbps: kbps === null ? null : Math.round(clamp(kbps, MAX.kbps)),
    frames_decoded: Math.round(clamp(decoded, MAX.frames)),
    frames_dropped: Math.round(clamp(dropped, MAX.frames)),
    width: Math.round(clamp(width, MAX.pixels)),
    height: Math.round(clamp(height, MAX.pixels)),
    candidate,
  };
}

export class QualityReporter {
  /**
   * @param {Map<string, RTCPeerConnection>} pcs the call's connections (kept up to date by Call)
   * @param {(msg: object) => boolean} send sends one message while in the session
   */
  constructor(pcs, send) {
    this.pcs = pcs;
    this.send = send;
    this.timer = null;
    this.busy = false;
    this.previous = new WeakMap(); // pc -> its totals at the last summary
    this.sent = 0;
    window.__rapport = Object.assign(window.__rapport || {}, { quality: this });
  }

  /** Report every `intervalS` seconds from now on (again after each `welcome`). */
  start(intervalS) {
    this.stop();
    if (intervalS > 0) this.timer = setInterval(() => this.report(), intervalS * 1000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async report() {
    if (this.busy) return;
    this.busy = true;
    try {
      const connections = [];
      for (const pc of this.pcs.values()) {
        if (pc.connectionState !== "connected") continue;
        const now = await connectionTotals(pc);
        connections.push({ now, before: this.previous.get(pc) || null });
        this.previous.set(pc, now);
      }
      if (connections.length && this.send(summarize(connections))) this.sent += 1;
    } catch (err) {
      console.warn("quality summary", err); // a summary is a nice-to-have
    } finally {
      this.busy = false;
    }
  }
}
