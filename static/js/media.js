// The local camera, microphone and speaker: opening them with a clear account of what worked,
// switching devices, screen sharing, mute and camera switches, and the microphone level meter.
//
// `stream` is one MediaStream for the whole visit: the microphone track and the outgoing video
// track (the camera, or the screen while sharing). When a device changes, the track in it is
// swapped and a "track" event tells the call to replaceTrack() on every connection.
//
// A video effect (background blur, blur.js) turns the camera into another track, which is then
// the one sent and shown. While it is on, the raw camera is never sent: until the effect's first
// picture is ready (after a switch of camera too) the stream holds the previous picture or none.

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" };

/** Why getUserMedia failed, as a strings.js `media.*` key. */
function problemOf(err) {
  switch (err && err.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotReadableError":
    case "AbortError":
      return "inUse";
    case "NotFoundError":
    case "OverconstrainedError":
      return "missing";
    default:
      return "failed";
  }
}

/** Video constraints: the given camera when there is one, else the front camera. */
function videoConstraint(deviceId) {
  if (!deviceId) return VIDEO;
  return { width: VIDEO.width, height: VIDEO.height, deviceId: { exact: deviceId } };
}

function audioConstraint(deviceId) {
  return deviceId ? { deviceId: { exact: deviceId } } : true;
}

export class LocalMedia {
  /**
   * @param {object} [store] where the person's choices survive a refresh:
   *   {load(): object|null, save(choices: object): void}
   */
  constructor(store = { load: () => null, save: () => {} }) {
    this.store = store;
    const saved = store.load() || {};
    this.choice = { camera: saved.camera || "", microphone: saved.microphone || "", speaker: saved.speaker || "" };
    this.audioOn = saved.audioOn !== false;
    this.videoOn = saved.videoOn !== false;
    this.stream = new MediaStream();
    this.mic = null;
    this.camera = null;
    this.screen = null;
    this.effect = null; // {apply(camera): Promise<{source, track, stop()}>}: e.g. background blur
    this.processed = null; // what the effect made of the camera: sent in its place
    this._effectRun = 0;
    this.device = { camera: "skipped", microphone: "skipped" }; // the device-check result
    this.problem = null; // a strings.js media.* key when something is not right
    this._listeners = new Map();
  }

  /**
   * "change" (any state), "track" ({kind, track}: the outgoing track changed), "speaker" (id),
   * "effecterror" (the video effect could not start: it is off again).
   */
  on(type, fn) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(fn);
    return () => this._listeners.get(type).delete(fn);
  }

  /** Call the listeners; what they return (promises, e.g. replaceTrack) comes back. */
  _emit(type, detail) {
    return [...(this._listeners.get(type) || [])].map((fn) => fn(detail));
  }

  get opened() {
    return this.device.camera !== "skipped";
  }

  get audioSent() {
    return Boolean(this.mic) && this.audioOn;
  }

  get videoSent() {
    return this.sharing || (Boolean(this.camera) && this.videoOn);
  }

  get sharing() {
    return Boolean(this.screen);
  }

  get canShareScreen() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  }

  get speaker() {
    return this.choice.speaker;
  }

  /** What peers are told in a `media` message. */
  state() {
    return { audio: this.audioSent, video: this.videoSent, screen: this.sharing };
  }

  /** Ask for the camera and microphone (the chosen ones when they still exist). Never rejects. */
  async open() {
    this._stopDevices();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this._result(null, null, { camera: "missing", microphone: "missing" }, "insecure");
      return this;
    }
    const gum = (constraints) => navigator.mediaDevices.getUserMedia(constraints);
    const { camera: cameraId, microphone: micId } = this.choice;
    try {
      const both = await gum({ audio: audioConstraint(micId), video: videoConstraint(cameraId) })
        .catch((err) => {
          // A device chosen earlier may be gone: then any will do.
          if ((cameraId || micId) && problemOf(err) === "missing") return gum({ audio: true, video: VIDEO });
          throw err;
        });
      this._result(both.getAudioTracks()[0], both.getVideoTracks()[0], { camera: "ok", microphone: "ok" }, null);
      return this;
    } catch (err) {
      const problem = problemOf(err);
      if (problem === "denied" || problem === "inUse") {
        const state = problem === "denied" ? "denied" : "missing";
        this._result(null, null, { camera: state, microphone: state }, problem);
        return this;
      }
    }
    // One of the two may be missing: try each alone so the person can still join with the other.
    const one = (constraints) => gum(constraints).then((s) => s.getTracks()[0], () => null);
    const mic = await one({ audio: true });
    const camera = await one({ video: VIDEO });
    const device = { camera: camera ? "ok" : "missing", microphone: mic ? "ok" : "missing" };
    const problem = mic && camera ? null : mic ? "micOnly" : camera ? "camOnly" : "missing";
    this._result(mic, camera, device, problem);
    return this;
  }

  _result(mic, camera, device, problem) {
    this.device = device;
    this.problem = problem;
    this._setTrack("audio", mic || null);
    this._setTrack("video", camera || null);
    this._emit("change");
  }

  /** Use another camera or microphone; throws when it cannot be started (the old one stays). */
  async use(kind, deviceId) {
    const constraints = kind === "audio" ? { audio: audioConstraint(deviceId) } : { video: videoConstraint(deviceId) };
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      if (problemOf(err) !== "inUse") throw err;
      // Phones often hold one camera at a time: let go of the current one, then ask again.
      (kind === "audio" ? this.mic : this.camera)?.stop();
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    }
    const track = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    this._setTrack(kind, track);
    this.device[kind === "audio" ? "microphone" : "camera"] = "ok";
    this._save({ [kind === "audio" ? "microphone" : "camera"]: deviceId });
    this._emit("change");
  }

  setSpeaker(deviceId) {
    this._save({ speaker: deviceId });
    this._emit("speaker", deviceId);
  }

  setAudio(on) {
    this.audioOn = on;
    if (this.mic) this.mic.enabled = on;
    this._save({});
    this._emit("change");
  }

  setVideo(on) {
    this.videoOn = on;
    if (this.camera) this.camera.enabled = on;
    if (this.processed) this.processed.track.enabled = on;
    this._save({});
    this._emit("change");
  }

  /** Share a screen or window instead of the camera. Rejects when the person cancels. */
  async startSharing() {
    const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = display.getVideoTracks()[0];
    if ("contentHint" in track) track.contentHint = "detail"; // sharp text over smooth motion
    track.addEventListener("ended", () => this.stopSharing()); // the browser's own "Stop" button
    this.screen = track;
    this._swapOutgoingVideo();
    this._emit("change");
  }

  stopSharing() {
    if (!this.screen) return;
    const track = this.screen;
    this.screen = null;
    Promise.allSettled(this._swapOutgoingVideo()).then(() => track.stop());
    this._emit("change");
  }

  /** Cameras, microphones and speakers, and the ids of those in use. */
  async devices() {
    const list = navigator.mediaDevices?.enumerateDevices ? await navigator.mediaDevices.enumerateDevices() : [];
    const current = (track) => (track ? track.getSettings().deviceId || "" : "");
    return {
      cameras: list.filter((d) => d.kind === "videoinput"),
      microphones: list.filter((d) => d.kind === "audioinput"),
      speakers: list.filter((d) => d.kind === "audiooutput"),
      camera: current(this.camera),
      microphone: current(this.mic),
      speaker: this.choice.speaker,
    };
  }

  /** Let go of every device (the camera light goes off). */
  stop() {
    this.stopSharing();
    this._stopDevices();
    this._emit("change");
  }

  _stopDevices() {
    this._setTrack("audio", null);
    this._setTrack("video", null);
  }

  _setTrack(kind, track) {
    const old = kind === "audio" ? this.mic : this.camera;
    if (old === track) return;
    if (track) {
      track.enabled = kind === "audio" ? this.audioOn : this.videoOn;
      track.addEventListener("ended", () => this._lost(kind, track));
    }
    let replaced = [];
    if (kind === "audio") {
      this.mic = track;
      replaced = this._swap("audio", old, track);
    } else {
      this.camera = track;
      if (this.effect) replaced = [this._applyEffect()]; // the new camera's picture, processed
      else if (!this.screen) replaced = this._swap("video", old, track);
    }
    // Stop the old device only once the connections send the new one: a sender whose track
    // is stopped under it may not pick up its replacement (seen in Chromium).
    if (old) Promise.allSettled(replaced).then(() => old.stop());
  }

  _swapOutgoingVideo() {
    const current = this.stream.getVideoTracks()[0] || null;
    return this._swap("video", current, this._outgoingVideo());
  }

  /** The screen while sharing; else the camera, or what the effect made of it when one is on. */
  _outgoingVideo() {
    if (this.screen) return this.screen;
    if (!this.camera) return null;
    if (!this.effect) return this.camera;
    return this.processed ? this.processed.track : null;
  }

  /**
   * Send `effect.apply(camera)`'s track instead of the camera's (background blur), following
   * every camera the person picks; null sends the camera again. Resolves to whether the effect
   * is running (false: it failed, an "effecterror" was emitted, and the camera is sent).
   */
  async setVideoEffect(effect) {
    this.effect = effect;
    const ok = await this._applyEffect();
    this._emit("change");
    return ok;
  }

  async _applyEffect() {
    const run = ++this._effectRun;
    const { camera, effect } = this;
    let next = null;
    let failed = false;
    if (effect && camera) {
      try {
        next = await effect.apply(camera);
      } catch (err) {
        console.warn("media: the video effect could not start", err.name || err);
        failed = true;
      }
    }
    if (run !== this._effectRun) { // a newer camera or choice came meanwhile
      if (next && next !== this.processed) next.stop();
      return !failed;
    }
    if (failed) this.effect = null;
    const old = this.processed;
    this.processed = next;
    if (next) next.track.enabled = this.videoOn;
    await Promise.allSettled(this._swapOutgoingVideo());
    if (old && old !== next) old.stop();
    if (failed) {
      this._emit("effecterror");
      this._emit("change");
    }
    return !failed;
  }

  /** Put `track` in the stream in place of `old`; the listeners' replaceTrack promises. */
  _swap(kind, old, track) {
    if (old && this.stream.getTracks().includes(old)) this.stream.removeTrack(old);
    if (track) this.stream.addTrack(track);
    return old !== track ? this._emit("track", { kind, track }) : [];
  }

  _lost(kind, track) {
    // A device unplugged mid-visit: say so rather than sending a frozen picture.
    if ((kind === "audio" ? this.mic : this.camera) !== track) return;
    this._setTrack(kind, null);
    this.device[kind === "audio" ? "microphone" : "camera"] = "missing";
    this._emit("change");
  }

  _save(changes) {
    Object.assign(this.choice, changes);
    this.store.save({ ...this.choice, audioOn: this.audioOn, videoOn: this.videoOn });
  }

  /**
   * Drive a <meter> (0..1) from the microphone, following it when it is switched. Returns a
   * stop function; a no-op without WebAudio.
   */
  meter(meterEl) {
    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    if (!AudioCtx || !meterEl) return () => {};
    const ctx = new AudioCtx();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    const samples = new Float32Array(analyser.fftSize);
    let source = null;
    let heard = null; // the microphone track the meter listens to
    let running = true;
    const attach = () => {
      if (heard === this.mic) return;
      heard = this.mic;
      source?.disconnect();
      source = heard ? ctx.createMediaStreamSource(new MediaStream([heard])) : null;
      source?.connect(analyser);
    };
    const tick = () => {
      if (!running) return;
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      meterEl.value = source ? Math.min(1, Math.sqrt(sum / samples.length) * 4) : 0;
      setTimeout(tick, 100);
    };
    const off = this.on("change", attach);
    attach();
    ctx.resume().catch(() => {});
    tick();
    return () => {
      running = false;
      off();
      meterEl.value = 0;
      source?.disconnect();
      ctx.close().catch(() => {});
    };
  }
}
