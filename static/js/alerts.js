// Gentle attention signals: a short chime made with WebAudio (no sound file), the tab title, and
// desktop notifications where the person allowed them.

let ctx = null;

function audio() {
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  if (!AudioCtx) return null;
  if (!ctx) ctx = new AudioCtx();
  return ctx;
}

/**
 * Browsers only let a page make sound after a click or key press: get ready on the first one.
 * `onUnlocked` runs once sound is allowed.
 */
export function unlockAudioOnGesture(onUnlocked = () => {}) {
  const unlock = () => {
    audio()?.resume().then(onUnlocked, () => {});
    window.removeEventListener("pointerdown", unlock);
    window.removeEventListener("keydown", unlock);
  };
  window.addEventListener("pointerdown", unlock);
  window.addEventListener("keydown", unlock);
}

/** True once the page may make sound. */
export function soundAllowed() {
  return audio()?.state === "running";
}

/**
 * A soft two-note chime (~0.5 s), on the chosen speaker where the browser can. Silent when the
 * browser does not allow sound yet.
 */
export async function chime({ sinkId } = {}) {
  const ac = audio();
  if (!ac) return;
  if (sinkId !== undefined && typeof ac.setSinkId === "function" && ac.sinkId !== sinkId) {
    await ac.setSinkId(sinkId).catch(() => {});
  }
  await ac.resume().catch(() => {});
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

/** Set the tab title; when the tab is hidden, restore `calm` once it is seen again. */
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

/** "unsupported" | "default" | "granted" | "denied" */
export function notificationPermission() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

/** Ask for desktop notifications (call it from a click). Resolves to the new permission. */
export async function askForNotifications() {
  if (notificationPermission() !== "default") return notificationPermission();
  try {
    return await Notification.requestPermission();
  } catch {
    return notificationPermission();
  }
}

/**
 * A desktop notification, only when allowed and the person is looking elsewhere. One at a time
 * (`tag`): a new arrival replaces the previous notice. Clicking it brings the tab forward.
 */
export function notify(title, body) {
  if (notificationPermission() !== "granted") return;
  if (document.visibilityState === "visible" && document.hasFocus()) return;
  try {
    const notice = new Notification(title, { body, tag: "rapport-waiting", silent: true });
    notice.addEventListener("click", () => {
      window.focus();
      notice.close();
    });
  } catch (err) {
    console.warn("alerts: notification failed", err.name);
  }
}

let unseen = 0;
let restore = null;

/** True while the person is looking at this tab (visible and focused). */
export function beingLookedAt() {
  return document.visibilityState === "visible" && document.hasFocus();
}

/**
 * Flag the tab while the person looks elsewhere: the title becomes `flagged(n)` for n items they
 * have not seen, and `calm()` once the tab is visible and focused again. Does nothing while they
 * are looking. True when the title changed.
 */
export function flagUnseen(flagged, calm) {
  if (beingLookedAt()) return false;
  unseen += 1;
  document.title = flagged(unseen);
  if (!restore) {
    restore = () => {
      if (!beingLookedAt()) return;
      unseen = 0;
      document.title = calm();
      document.removeEventListener("visibilitychange", restore);
      window.removeEventListener("focus", restore);
      restore = null;
    };
    document.addEventListener("visibilitychange", restore);
    window.addEventListener("focus", restore);
  }
  return true;
}
