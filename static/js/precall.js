// The pre-call connection test, from the waiting room: a complete offer to the node's own test
// peer (precall_offer), 6 s of datachannel pings while it echoes our audio and low-resolution
// video, our side of the figures (getStats) in precall_result, and the node's verdict back
// (precall_verdict). It measures the network, not the devices: the picture and sound it sends
// are made here (a canvas and a quiet tone), so the camera and microphone are left alone.
// It never blocks joining: the therapist can admit the client at any moment, and the test
// then stops.

import { t } from "./strings.js";
import { el } from "./ui.js";

/** The pre-call error codes, named as in the server's error table (signaling/errors.py; a unit
 *  test keeps the two equal). */
export const PRECALL_ERRORS = {
  PRECALL_BUSY: "precall_busy",
  PRECALL_TIME_UP: "precall_time_up",
  PRECALL_NOT_RUNNING: "precall_not_running",
};

const DURATION_MS = 6000;
const PING_MS = 200;
const GATHER_MS = 5000;
const CONNECT_MS = 10000;
const ANSWER_MS = 30000;
const REFS = new Set(["precall_offer", "precall_result"]);

/** A low-resolution moving picture and a quiet tone, as a stream of two tracks. */
function syntheticStream() {
  const canvas = el("canvas", { width: 320, height: 240 });
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(320, 240);
  const paint = () => {
    const data = image.data;
    for (let i = 0; i < data.length; i += 4) {
      const v = (Math.random() * 255) | 0;
      data[i] = data[i + 1] = data[i + 2] = v;
      data[i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  };
  paint();
  const timer = setInterval(paint, 66);
  const stream = canvas.captureStream(15);
  let audio = null;
  try {
    audio = new AudioContext();
    const tone = audio.createOscillator();
    const quiet = audio.createGain();
    quiet.gain.value = 0.01;
    const out = audio.createMediaStreamDestination();
    tone.connect(quiet).connect(out);
    tone.start();
    for (const track of out.stream.getAudioTracks()) stream.addTrack(track);
  } catch {
    // no audio: the video alone is measured
  }
  const stop = () => {
    clearInterval(timer);
    for (const track of stream.getTracks()) track.stop();
    audio?.close().catch(() => {});
  };
  return { stream, stop };
}

function waitFor(check, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
    const tick = () => {
      if (check()) {
        clearTimeout(timer);
        resolve();
      } else {
        setTimeout(tick, 50);
      }
    };
    tick();
  });
}

/** The server's next reply of `type`, or its error for one of our messages (rejected). */
function reply(signaling, type, ms) {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      offOk();
      offErr();
    };
    const timer = setTimeout(() => {
      done();
      reject(Object.assign(new Error("no reply"), { code: "timeout" }));
    }, ms);
    const offOk = signaling.on(type, (msg) => {
      done();
      resolve(msg);
    });
    const offErr = signaling.on("error", (msg) => {
      if (!REFS.has(msg.ref)) return;
      done();
      reject(Object.assign(new Error(msg.message), { code: msg.code, retryAfter: msg.retry_after }));
    });
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Our side of the figures, from getStats: the path of the selected pair and what arrived. */
async function ourFigures(pc, seconds) {
  const stats = await pc.getStats();
  let pair = null;
  let received = 0;
  let lost = 0;
  let jitter = 0;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  stats.forEach((s) => {
    if (!pair && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    if (s.type === "inbound-rtp") {
      received += s.packetsReceived || 0;
      lost += Math.max(0, s.packetsLost || 0);
      jitter = Math.max(jitter, (s.jitter || 0) * 1000);
    }
  });
  const local = pair ? stats.get(pair.localCandidateId) : null;
  const candidate = ["host", "srflx", "prflx", "relay"].includes(local?.candidateType) ? local.candidateType : "host";
  const relayProtocol = candidate === "relay" ? local?.relayProtocol : local?.protocol;
  const transport = ["udp", "tcp", "tls"].includes(relayProtocol) ? relayProtocol : "udp";
  const kbps = (bytes) => Math.min(100000, ((bytes || 0) * 8) / 1000 / seconds);
  return {
    candidate,
    transport,
    loss_down_pct: received + lost ? Math.min(100, (100 * lost) / (received + lost)) : 0,
    jitter_down_ms: Math.min(60000, jitter),
    bitrate_down_kbps: kbps(pair?.bytesReceived),
    bitrate_up_kbps: kbps(pair?.bytesSent),
  };
}

/**
 * Run one test over `signaling` (a waiting client's socket) with the ICE servers from
 * `welcome`. `policy` is the ICE transport policy the deployment asks for ("all" or "relay":
 * the welcome's `ice_transport_policy`, when the node sends one), so the test takes the path
 * the call will take. Resolves to the node's report; rejects with `code` set on a refusal.
 */
export async function runPrecall(signaling, { iceServers = [], policy = "all", signal } = {}) {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: policy === "relay" ? "relay" : "all" });
  const source = syntheticStream();
  const stop = () => signaling.send({ type: "precall_stop" });
  signal?.addEventListener("abort", stop);
  try {
    for (const track of source.stream.getTracks()) pc.addTrack(track, source.stream);
    const channel = pc.createDataChannel("precall");
    const sent = new Map();
    const rtts = [];
    channel.onmessage = (event) => {
      const n = Number(String(event.data).split(" ")[1]);
      const at = sent.get(n);
      if (at !== undefined) {
        sent.delete(n);
        rtts.push(performance.now() - at);
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    // Not trickled: the node's peer answers once, so the offer carries every candidate.
    await waitFor(() => pc.iceGatheringState === "complete", GATHER_MS, "gathering").catch(() => {});
    const answer = reply(signaling, "precall_answer", ANSWER_MS);
    if (!signaling.send({ type: "precall_offer", sdp: pc.localDescription.sdp })) {
      throw Object.assign(new Error("not connected"), { code: "offline" });
    }
    await pc.setRemoteDescription({ type: "answer", sdp: (await answer).sdp });
    await waitFor(() => channel.readyState === "open", CONNECT_MS, "connection");
    const started = performance.now();
    let pings = 0;
    while (performance.now() - started < DURATION_MS && channel.readyState === "open") {
      if (signal?.aborted) throw Object.assign(new Error("stopped"), { code: "stopped" });
      sent.set(pings, performance.now());
      channel.send(`p ${pings}`);
      pings += 1;
      await new Promise((resolve) => setTimeout(resolve, PING_MS));
    }
    const seconds = (performance.now() - started) / 1000;
    const figures = await ourFigures(pc, seconds);
    const verdict = reply(signaling, "precall_verdict", ANSWER_MS);
    signaling.send({
      type: "precall_result",
      duration_s: Math.min(60, Math.max(0.001, seconds)),
      pings_sent: pings,
      pings_answered: rtts.length,
      rtt_ms: rtts.length ? Math.min(60000, median(rtts)) : null,
      ...figures,
    });
    return (await verdict).report;
  } finally {
    signal?.removeEventListener("abort", stop);
    pc.close();
    source.stop();
  }
}

function figureRows(report) {
  const ms = (v) => (v === null || v === undefined ? t("precall.figures.none") : t("precall.figures.ms", Math.round(v)));
  const pct = (v) => t("precall.figures.pct", Math.round(v * 10) / 10);
  const kbps = (v) => t("precall.figures.kbps", Math.round(v));
  const rows = [
    [t("precall.figures.path"), t(`precall.path.${report.candidate}`, report.transport.toUpperCase())],
    [t("precall.figures.rtt"), ms(report.rtt_ms)],
    [t("precall.figures.loss"), t("precall.figures.upDown", pct(report.loss_up_pct), pct(report.loss_down_pct))],
    [t("precall.figures.jitter"), t("precall.figures.upDown", ms(report.jitter_up_ms), ms(report.jitter_down_ms))],
    [t("precall.figures.bitrate"), t("precall.figures.upDown", kbps(report.bitrate_up_kbps), kbps(report.bitrate_down_kbps))],
  ];
  return el("dl", { className: "precall-figures" },
    ...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

/** The verdict and advice in calm words, for the client. */
function verdictForClient(report) {
  return [
    el("p", { className: `precall-verdict precall-${report.verdict}`, dataset: { testid: "precall-verdict", verdict: report.verdict } },
      t(`precall.client.${report.verdict}`)),
    ...report.advice.filter((code) => code !== "good").map((code) => el("p", { className: "hint" }, t(`precall.advice.${code}`))),
  ];
}

/** The therapist's view of a waiting client's test: the verdict, the figures behind a disclosure. */
export function precallSummary(report) {
  if (!report) return [];
  return [
    el("details", { className: "precall-details", dataset: { testid: "precall-card", verdict: report.verdict } },
      el("summary", {}, t(`precall.therapist.${report.verdict}`)),
      el("p", { className: "hint" }, report.advice.map((code) => t(`precall.therapistAdvice.${code}`)).join(" ")),
      figureRows(report)),
  ];
}

/**
 * The waiting room's panel: a button to run the test (never required), the progress, and the
 * verdict. `getIce` returns { iceServers, policy } from the latest welcome.
 */
export function mountPrecall(root, signaling, getIce) {
  const status = el("div", { className: "precall-status", role: "status", dataset: { testid: "precall-status" } });
  const button = el("button", { type: "button", className: "button", dataset: { testid: "precall-run" } },
    t("precall.run"));
  let running = null;
  button.addEventListener("click", async () => {
    if (running) return;
    running = new AbortController();
    button.disabled = true;
    status.replaceChildren(el("p", {}, t("precall.running")));
    try {
      const report = await runPrecall(signaling, { ...getIce(), signal: running.signal });
      status.replaceChildren(...verdictForClient(report));
      button.textContent = t("precall.again");
    } catch (err) {
      const busy = err.code === PRECALL_ERRORS.PRECALL_BUSY;
      status.replaceChildren(el("p", {}, busy ? t("precall.busy", err.retryAfter || 10) : t("precall.failed")));
    } finally {
      running = null;
      button.disabled = false;
    }
  });
  root.replaceChildren(
    el("h2", {}, t("precall.heading")),
    el("p", { className: "hint" }, t("precall.hint")),
    button,
    status,
  );
  return { stop: () => running?.abort() };
}
