// The local camera and microphone: opening them with a clear account of what worked, mute and
// camera switches, and an optional microphone level meter for the device check.

import { t } from "./strings.js";

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" };

/**
 * Open the camera and microphone. Resolves (never rejects) to
 * {stream, device: {camera, microphone}, message} where each device is "ok" | "denied" |
 * "missing" and message is a sentence for the page (empty when all is well).
 */
export async function openMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: null, device: { camera: "missing", microphone: "missing" }, message: t("media.insecure") };
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: VIDEO });
    return { stream, device: { camera: "ok", microphone: "ok" }, message: "" };
  } catch (err) {
    if (err.name === "NotAllowedError" || err.name === "SecurityError") {
      return { stream: null, device: { camera: "denied", microphone: "denied" }, message: t("media.denied") };
    }
    if (err.name === "NotReadableError" || err.name === "AbortError") {
      return { stream: null, device: { camera: "missing", microphone: "missing" }, message: t("media.inUse") };
    }
    // One of the two may be missing: try each alone so the person can still join with the other.
    return openOne();
  }
}

async function openOne() {
  for (const [kind, constraints, message] of [
    ["microphone", { audio: true }, "media.micOnly"],
    ["camera", { video: VIDEO }, "media.camOnly"],
  ]) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      const device = { camera: "missing", microphone: "missing" };
      device[kind] = "ok";
      return { stream, device, message: t(message) };
    } catch {
      // try the other one
    }
  }
  return { stream: null, device: { camera: "missing", microphone: "missing" }, message: t("media.missing") };
}

/** Stop every track of a stream (frees the camera light). */
export function stopStream(stream) {
  stream?.getTracks().forEach((track) => track.stop());
}

/** Enable or disable the stream's tracks of one kind; returns the new state (false if none). */
export function setEnabled(stream, kind, enabled) {
  const tracks = kind === "audio" ? stream?.getAudioTracks() : stream?.getVideoTracks();
  if (!tracks || tracks.length === 0) return false;
  tracks.forEach((track) => {
    track.enabled = enabled;
  });
  return enabled;
}

export function hasTrack(stream, kind) {
  return Boolean(kind === "audio" ? stream?.getAudioTracks().length : stream?.getVideoTracks().length);
}

/**
 * Drive a <meter> (0..1) from the stream's microphone. Returns a stop function. Does nothing
 * (and returns a no-op) when there is no audio track or no WebAudio.
 */
export function levelMeter(stream, meter) {
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  if (!AudioCtx || !hasTrack(stream, "audio") || !meter) return () => {};
  const ctx = new AudioCtx();
  const source = ctx.createMediaStreamSource(stream);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let running = true;
  const tick = () => {
    if (!running) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    meter.value = Math.min(1, rms * 4);
    setTimeout(tick, 100);
  };
  ctx.resume().catch(() => {});
  tick();
  return () => {
    running = false;
    meter.value = 0;
    source.disconnect();
    ctx.close().catch(() => {});
  };
}
