// Background blur, so a client's home stays private: the browser's own blur where the camera
// offers it (the `backgroundBlur` constraint), otherwise MediaPipe's selfie segmentation,
// vendored from the npm registry and served by the node at /vendor/mediapipe/ (never a CDN).
//
// MediaPipe's picture is drawn on a canvas: the person sharp (the segmentation mask), the rest
// blurred; the canvas's captureStream() is the track sent and shown in the self view. LocalMedia
// swaps it in with replaceTrack (no renegotiation). Each frame's segmentation and drawing is
// timed; when frames take longer than the page's budget for several seconds, blur turns itself
// off and says so.

import { t } from "./strings.js";

const LIBRARY_DIR = "/vendor/mediapipe/";
const BLUR_PX = 14;
// Pictures are blurred at most this wide (a 1280x720 camera goes out at 640x360): each frame's
// cost grows with its pixels, and a blurred room needs no more.
const MAX_WIDTH = 640;
const WARM_UP_FRAMES = 5; // the first frames compile shaders and the model: not counted
const WINDOW = 20; // frames in the rolling measures
const SLOW_FOR_MS = 4000; // over budget this long: blur turns itself off
const DEFAULT_BUDGET_MS = 66;

let libraryLoad = null;

/** MediaPipe's SelfieSegmentation class: a classic script that defines a global. */
function loadLibrary() {
  if (!libraryLoad) {
    libraryLoad = new Promise((resolve, reject) => {
      if (window.SelfieSegmentation) return resolve(window.SelfieSegmentation);
      const script = document.createElement("script");
      script.src = `${LIBRARY_DIR}selfie_segmentation.js`;
      script.onload = () => (window.SelfieSegmentation
        ? resolve(window.SelfieSegmentation) : reject(new Error("no SelfieSegmentation")));
      script.onerror = () => reject(new Error("blur library missing"));
      document.head.append(script);
    }).catch((err) => {
      libraryLoad = null; // try again next time (the files may be vendored by then)
      throw err;
    });
  }
  return libraryLoad;
}

/** Whether the camera itself can blur (Chrome on some systems; never Chromium's fake camera). */
function nativeBlurOf(track) {
  const caps = typeof track.getCapabilities === "function" ? track.getCapabilities() : {};
  return Array.isArray(caps.backgroundBlur) && caps.backgroundBlur.includes(true);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The camera's own blur: the track sent stays the camera's. */
async function nativeBlur(camera) {
  const others = camera.getConstraints ? camera.getConstraints() : {};
  await camera.applyConstraints({ ...others, backgroundBlur: true });
  return {
    source: camera,
    track: camera,
    mode: "native",
    stats: () => ({ mode: "native", frames: 0, msPerFrame: 0, fps: 0 }),
    stop: () => {
      if (camera.readyState === "live") camera.applyConstraints({ ...others, backgroundBlur: false }).catch(() => {});
    },
  };
}

/** MediaPipe segmentation of `camera` onto a canvas; resolves once the first frame is drawn. */
class Segmented {
  constructor(camera, Segmenter, { budgetMs, onSlow }) {
    this.source = camera;
    this.mode = "mediapipe";
    this.budgetMs = budgetMs;
    this.onSlow = onSlow;
    this.running = false;
    this.frames = 0;
    this.costs = []; // ms per frame (segmentation + drawing), the last WINDOW frames
    this.stamps = []; // when the last WINDOW frames were done, for the frame rate
    this.slowSince = 0;
    const { width: cameraWidth = 640, height: cameraHeight = 480, frameRate = 30 } = camera.getSettings();
    const scale = Math.min(1, MAX_WIDTH / cameraWidth);
    const width = Math.round(cameraWidth * scale);
    const height = Math.round(cameraHeight * scale);
    this.interval = 1000 / Math.min(frameRate || 30, 30);
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.srcObject = new MediaStream([camera]);
    this.input = Object.assign(document.createElement("canvas"), { width, height }); // the camera, scaled
    this.inputCtx = this.input.getContext("2d");
    this.canvas = Object.assign(document.createElement("canvas"), { width, height }); // what is sent
    this.ctx = this.canvas.getContext("2d");
    // Where the canvas has no `filter` (Safari), the room is blurred by drawing it tiny and
    // stretching it back: coarser, but never sharp.
    this.tiny = typeof this.ctx.filter === "string" ? null : Object.assign(document.createElement("canvas"),
      { width: Math.ceil(width / 16), height: Math.ceil(height / 16) });
    this.segmenter = new Segmenter({ locateFile: (file) => `${LIBRARY_DIR}${file}` });
    this.segmenter.setOptions({ modelSelection: 1 }); // the landscape model: 144x256, quicker
    this.segmenter.onResults((results) => this._draw(results));
    this.track = null;
  }

  async start() {
    await this.video.play();
    await this.segmenter.initialize();
    this.running = true;
    await this._frame(); // the first picture is blurred before anything is sent
    // The canvas's frames, as often as the camera's: a track that never shows the raw camera.
    this.track = this.canvas.captureStream(Math.round(1000 / this.interval)).getVideoTracks()[0];
    this._loop();
    return this;
  }

  _draw({ segmentationMask, image }) {
    const { ctx, canvas } = this;
    const { width, height } = canvas;
    ctx.save();
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(segmentationMask, 0, 0, width, height);
    ctx.globalCompositeOperation = "source-in"; // the person, where the mask is
    ctx.drawImage(image, 0, 0, width, height);
    ctx.globalCompositeOperation = "destination-over"; // behind them, the room blurred
    if (this.tiny) {
      this.tiny.getContext("2d").drawImage(image, 0, 0, this.tiny.width, this.tiny.height);
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(this.tiny, 0, 0, width, height);
    } else {
      ctx.filter = `blur(${BLUR_PX}px)`;
      // A little larger than the canvas, so the blur has picture to spread from at the edges
      // rather than fading them into a dark frame.
      const m = 2 * BLUR_PX;
      ctx.drawImage(image, -m, -m, width + 2 * m, height + 2 * m);
    }
    ctx.restore();
  }

  async _frame() {
    const started = performance.now();
    this.inputCtx.drawImage(this.video, 0, 0, this.input.width, this.input.height);
    await this.segmenter.send({ image: this.input });
    return performance.now() - started;
  }

  async _loop() {
    while (this.running) {
      let spent = 0;
      try {
        if (this.video.readyState >= 2) spent = await this._frame();
      } catch (err) {
        if (!this.running) return;
        console.warn("blur: a frame failed", err);
      }
      if (!this.running) return;
      this._measure(spent);
      // The segmentation runs on the page's own thread: when a frame takes longer than the
      // camera's interval, rest half as long again, so clicks and typing still get through.
      await sleep(Math.max(this.interval - spent, spent / 2));
    }
  }

  _measure(spent) {
    this.frames += 1;
    if (this.frames <= WARM_UP_FRAMES || document.hidden) return; // a hidden tab's timers crawl
    const now = performance.now();
    this.costs.push(spent);
    this.stamps.push(now);
    if (this.costs.length > WINDOW) this.costs.shift();
    if (this.stamps.length > WINDOW) this.stamps.shift();
    if (!this.budgetMs || this.costs.length < 3) return;
    if (this.msPerFrame() <= this.budgetMs) {
      this.slowSince = 0;
    } else if (!this.slowSince) {
      this.slowSince = now;
    } else if (now - this.slowSince >= SLOW_FOR_MS) {
      this.onSlow(this.stats());
    }
  }

  msPerFrame() {
    return this.costs.length ? this.costs.reduce((a, b) => a + b, 0) / this.costs.length : 0;
  }

  stats() {
    const span = this.stamps.length > 1 ? this.stamps[this.stamps.length - 1] - this.stamps[0] : 0;
    return {
      mode: this.mode,
      frames: this.frames,
      msPerFrame: Math.round(this.msPerFrame() * 10) / 10,
      fps: span ? Math.round(((this.stamps.length - 1) * 1000 / span) * 10) / 10 : 0,
      budgetMs: this.budgetMs,
      width: this.canvas.width,
      height: this.canvas.height,
    };
  }

  stop() {
    this.running = false;
    this.track?.stop();
    this.video.srcObject = null;
    this.segmenter.close().catch(() => {});
  }
}

/**
 * The page's "Blur my background" choice, bound to its LocalMedia: on, off, starting, or
 * unavailable, with a sentence to say (`notice`) when blur could not start or turned itself off.
 * The choice is kept for the tab (`store`), and applied again to every camera the person picks.
 */
export class BackgroundBlur {
  /**
   * @param {import("./media.js").LocalMedia} media
   * @param {{load(): any, save(value: any): void}} store this tab's memory of the choice
   */
  constructor(media, store) {
    this.media = media;
    this.store = store;
    this.available = true;
    this.budgetMs = DEFAULT_BUDGET_MS;
    this.state = "off"; // "off" | "starting" | "on"
    this.notice = "";
    this.current = null; // the running blur ({mode, stats(), ...}), for the measures
    this._listeners = new Set();
    media.blur = this;
    media.on("effecterror", () => this._failed());
    window.__rapport = Object.assign(window.__rapport || {}, { blur: this });
    if (store.load()) this.set(true);
  }

  /** The page's `/api/config`: whether the node serves MediaPipe, and the frame budget. */
  configure({ blur_available: available, blur_frame_budget_ms: budgetMs } = {}) {
    if (typeof budgetMs === "number") this.budgetMs = budgetMs;
    if (available === false) {
      this.available = false;
      if (this.state !== "off") this.set(false);
    }
    this._changed();
  }

  get on() {
    return this.state !== "off";
  }

  /** "change" listeners get nothing: read state, notice, available. */
  onChange(fn) {
    this._listeners.add(fn);
    return () => this._listeners.delete(fn);
  }

  _changed() {
    this._listeners.forEach((fn) => fn());
  }

  /** Turn blur on or off. Resolves when the outgoing picture is the one asked for. */
  async set(on) {
    if (on === this.on) return;
    this.notice = "";
    if (!on) {
      this.state = "off";
      this.store.save(false);
      this._changed();
      await this.media.setVideoEffect(null);
      this.current = null;
      return;
    }
    if (!this.available) {
      this._say("blur.unavailable");
      return;
    }
    this.state = "starting";
    this.store.save(true);
    this._changed();
    const ok = await this.media.setVideoEffect({ apply: (camera) => this._apply(camera) });
    if (ok && this.state === "starting") this.state = "on";
    this._changed();
  }

  async _apply(camera) {
    if (nativeBlurOf(camera)) {
      try {
        this.current = await nativeBlur(camera);
        return this.current;
      } catch (err) {
        console.warn("blur: the camera's own blur failed, using MediaPipe", err.name);
      }
    }
    const Segmenter = await loadLibrary();
    const blurred = new Segmented(camera, Segmenter, {
      budgetMs: this.budgetMs,
      onSlow: (stats) => this._slow(blurred, stats),
    });
    try {
      await blurred.start();
    } catch (err) {
      blurred.stop();
      throw err;
    }
    this.current = blurred;
    return blurred;
  }

  _slow(blurred, stats) {
    if (this.current !== blurred || this.state === "off") return;
    console.info(`blur: ${stats.msPerFrame} ms a frame over a ${stats.budgetMs} ms budget; turning off`);
    this.lastSlow = stats;
    this.set(false).then(() => this._say("blur.tooSlow"));
  }

  /** The effect could not start (no library, no WebGL, a camera that vanished). */
  _failed() {
    if (this.state === "off") return;
    this.state = "off";
    this.current = null;
    this.store.save(false);
    this._say("blur.failed");
  }

  _say(key) {
    this.notice = t(key);
    this._changed();
  }

  /** The measured figures (ms per frame, frames a second), for tests and the console. */
  stats() {
    return this.current && this.state === "on" ? this.current.stats() : null;
  }
}
