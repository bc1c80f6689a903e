// Gentle attention signals: a short chime made with WebAudio (no sound file) and the tab title.

let ctx = null;

function audio() {
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  if (!AudioCtx) return null;
  if (!ctx) ctx = new AudioCtx();
  return ctx;
}

/** Browsers only let a page make sound after a click or key press: get ready on the first one. */
export function unlockAudioOnGesture() {
  const unlock = () => {
    audio()?.resume().catch(() => {});
    window.removeEventListener("pointerdown", unlock);
    window.removeEventListener("keydown", unlock);
  };
  window.addEventListener("pointerdown", unlock);
  window.addEventListener("keydown", unlock);
}

/** A soft two-note chime (~0.5 s). Silent when the browser does not allow sound yet. */
export function chime() {
  const ac = audio();
  if (!ac) return;
  ac.resume().catch(() => {});
  const start = ac.currentTime + 0.02;
  [660, 880].forEach((frequency, i) => {
    const osc = ac.createOscillator();
    const gain = ac.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    const at = start + i * 0.18;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.15, at + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.3);
    osc.connect(gain).connect(ac.destination);
    osc.start(at);
    osc.stop(at + 0.32);
  });
}

/** Set the tab title; when the tab is hidden, remember to restore `calm` once it is seen. */
export function setTitle(text, calm = null) {
  document.title = text;
  if (calm && document.hidden) {
    const restore = () => {
      if (!document.hidden) {
        document.title = calm;
        document.removeEventListener("visibilitychange", restore);
      }
    };
    document.addEventListener("visibilitychange", restore);
  }
}
