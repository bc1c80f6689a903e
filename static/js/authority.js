// A console's sign-in: fresh tokens from the server, a warning before it ends, a new sign-in
// link opened in the same tab (sent over the open socket as a `reauth`), and the lock after a
// quiet spell with nobody at the keyboard.

import { t } from "./strings.js";
import { replaceToken, takeToken } from "./token.js";
import { clockTime, showBanner } from "./ui.js";

const INPUT_EVENTS = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart"];

/** Keep the page's token current over `signaling`; `setToken` is where the page keeps it. */
export function keepSignedIn(kind, signaling, setToken) {
  signaling.on("token_refreshed", (msg) => {
    setToken(msg.token);
    replaceToken(kind, msg.token);
  });
  signaling.on("token_expiring", (msg) => showBanner(t("authority.expiring", clockTime(msg.closes_at))));
  signaling.on("reauthed", () => showBanner(t("authority.renewed"), 3000));
  window.addEventListener("hashchange", () => {
    const { token, changed } = takeToken(kind);
    if (!token || !changed) return;
    setToken(token);
    signaling.send({ type: "reauth", token });
  });
}

/**
 * Call `onIdle` once after `seconds` without input; returns a function that stops watching.
 * While `busy()` is true (a session is running: people talk, nobody types) the time restarts.
 */
export function lockWhenIdle(seconds, onIdle, busy = () => false) {
  if (!(Number(seconds) > 0)) return () => {};
  let timer = null;
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(fire, seconds * 1000);
  };
  const stop = () => {
    clearTimeout(timer);
    for (const type of INPUT_EVENTS) window.removeEventListener(type, reset, true);
  };
  const fire = () => {
    if (busy()) return reset();
    stop();
    return onIdle();
  };
  for (const type of INPUT_EVENTS) window.addEventListener(type, reset, { capture: true, passive: true });
  reset();
  return stop;
}
