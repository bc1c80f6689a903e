// One person's video tile: the <video>, their name, and badges that say in words (never by colour
// alone) when they are muted, have their camera off, share their screen, are reconnecting, and
// how good the connection is.

import { t } from "./strings.js";
import { el } from "./ui.js";

/** Play a <video>; when the browser blocks sound before a click, play muted and offer a button. */
function playVideo(video, unmuteButton) {
  const attempt = video.play();
  if (!attempt) return;
  attempt.catch(() => {
    if (video.muted) return;
    video.muted = true;
    video.play().catch(() => {});
    if (unmuteButton) {
      unmuteButton.hidden = false;
      unmuteButton.addEventListener("click", () => {
        video.muted = false;
        video.play().catch(() => {});
        unmuteButton.hidden = true;
      }, { once: true });
    }
  });
}

/**
 * A tile for one person: <figure> with the picture (the video, a camera-off cover and a
 * reconnecting cover) and, under it rather than on it, a caption (name and badges): the badges
 * can then never hide what a cover says, however small the tile.
 */
export function videoTile({ id, name = "", self = false }) {
  const label = () => (self ? t("common.selfView") : t("common.remoteVideo", nameNode.textContent));
  const video = el("video", {
    autoplay: true,
    playsInline: true,
    className: self ? "mirror" : "",
    dataset: { testid: self ? "self-video" : "remote-video", peer: id },
  });
  video.muted = self; // the property, not the attribute, decides
  const nameNode = el("span", { className: "tile-name", text: self ? t("common.you") : name });
  const badge = (testid, text, extra = "") => el("span", {
    className: `badge ${extra}`, hidden: true, dataset: { testid } }, text);
  const muted = badge("muted-badge", t("common.muted"), "badge-muted");
  const screen = badge("screen-badge", t("common.screenBadge"));
  const quality = badge("quality", "", "badge-quality");
  const off = el("div", { className: "tile-cover", hidden: true, dataset: { testid: "camera-off" } },
    t("common.cameraIsOff"));
  const away = el("div", { className: "tile-cover tile-away", hidden: true, dataset: { testid: "reconnecting" } },
    t("common.reconnecting"));
  const soundOn = el("button", { type: "button", className: "button tile-sound", hidden: true },
    t("common.unmute"));
  const root = el("figure", {
    className: self ? "tile tile-self" : "tile",
    dataset: { testid: self ? "self-tile" : "remote-tile", peer: id },
  }, el("div", { className: "tile-picture" }, video, off, away, soundOn),
  el("figcaption", {}, nameNode, muted, screen, quality));
  video.setAttribute("aria-label", label());

  return {
    root,
    video,
    setStream(stream) {
      if (video.srcObject !== stream) video.srcObject = stream;
      if (stream) playVideo(video, self ? null : soundOn);
    },
    setName(value) {
      if (self || !value) return;
      nameNode.textContent = value;
      video.setAttribute("aria-label", label());
    },
    setMuted(isMuted) {
      muted.hidden = !isMuted;
    },
    setCameraOff(isOff) {
      off.hidden = !isOff;
      root.classList.toggle("is-off", isOff);
    },
    setScreen(sharing) {
      screen.hidden = !sharing;
      root.classList.toggle("is-screen", sharing);
      if (self) video.classList.toggle("mirror", !sharing); // text on a screen must not be mirrored
    },
    setReconnecting(isAway) {
      away.hidden = !isAway;
      root.classList.toggle("is-away", isAway);
    },
    /** @param {{level: string, detail: string}|null} q */
    setQuality(q) {
      quality.hidden = !q;
      quality.dataset.level = q ? q.level : "";
      quality.replaceChildren();
      if (!q) return;
      // The words carry the meaning; colour only repeats it. The figures are for the curious.
      quality.append(t(`common.quality.${q.level}`),
        el("span", { className: "visually-hidden" }, ` (${q.detail})`));
      quality.title = q.detail;
    },
    /** Play this person's sound on the chosen speaker, where the browser can. */
    setSinkId(sinkId) {
      if (self || typeof video.setSinkId !== "function") return;
      video.setSinkId(sinkId || "").catch((err) => console.warn("tile: speaker not set", err.name));
    },
  };
}

/** The self-view tile, kept in step with the local media (stream, mute, camera, screen). */
export function selfTile(media) {
  const tile = videoTile({ id: "self", self: true });
  const update = () => {
    tile.setStream(media.stream);
    tile.setMuted(!media.audioSent);
    tile.setCameraOff(!media.videoSent);
    tile.setScreen(media.sharing);
  };
  media.on("change", update);
  update();
  return tile;
}
