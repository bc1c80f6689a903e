// The in-call view the client and the therapist share: the video tiles and what each peer's
// microphone, camera, screen and connection are doing; the chat; and the call controls (mute,
// camera, background blur, screen share, devices). It owns the Call (the mesh) and feeds it from
// the signaling.

import { Call } from "./call.js";
import { chatStore, forgetChats } from "./chatstore.js";
import { DeviceChooser } from "./devices.js";
import { qualityDetail, qualityLevel } from "./quality.js";
import { QualityReporter } from "./qualityreport.js";
import { t } from "./strings.js";
import { selfTile, videoTile } from "./tile.js";
import { clockTime, el } from "./ui.js";

const SIGNALS = ["offer", "answer", "candidate", "hangup"];
const PEER_BACK_NOTE_MS = 4000;
// What the server calls a therapist who gave no name (telehealth/web/ws.py): English words the
// page says in its own language instead.
const UNNAMED_THERAPIST = "Your therapist";

/** A peer's name as this page shows it. */
function shownName(peer) {
  return peer.role === "therapist" && peer.name === UNNAMED_THERAPIST ? t("common.yourTherapist") : peer.name;
}

/**
 * The microphone and camera buttons, bound to the local media: used in the call and in the
 * waiting room. `suffix` keeps test ids apart when a page shows two sets.
 */
export function mediaButtons(media, { suffix = "" } = {}) {
  const mic = el("button", { type: "button", className: "button", dataset: { testid: `mic${suffix}` },
    onclick: () => media.setAudio(!media.audioOn) });
  const camera = el("button", { type: "button", className: "button", dataset: { testid: `camera${suffix}` },
    onclick: () => media.setVideo(!media.videoOn) });
  const update = () => {
    mic.textContent = media.audioSent ? t("common.mute") : t("common.unmute");
    mic.disabled = !media.mic;
    mic.dataset.on = String(media.audioSent);
    const cameraOn = Boolean(media.camera) && media.videoOn;
    camera.textContent = cameraOn ? t("common.cameraOff") : t("common.cameraOn");
    camera.disabled = !media.camera;
    camera.dataset.on = String(cameraOn);
  };
  media.on("change", update);
  update();
  return [mic, camera];
}

/** The call's "Blur background" button, where the page has blur (blur.js). */
function blurButton(blur) {
  const button = el("button", { type: "button", className: "button", dataset: { testid: "blur-toggle" },
    onclick: () => blur.set(!blur.on) });
  const update = () => {
    button.textContent = blur.on ? t("blur.buttonOff") : t("blur.button");
    button.dataset.on = String(blur.on);
    button.hidden = !blur.available;
  };
  blur.onChange(update);
  update();
  return button;
}

export class CallView {
  /**
   * @param {object} opts
   * @param {HTMLElement} opts.root the element the view is built in
   * @param {import("./signaling.js").Signaling} opts.signaling
   * @param {import("./media.js").LocalMedia} opts.media
   * @param {number} [opts.headingLevel] of the chat heading (2 or 3), to fit the page's outline
   * @param {HTMLElement[]} [opts.extraControls] after the media controls (Leave, End for all)
   * @param {(change: {joined: object[], left: object[], peers: object[]}) => void} [opts.onPeersChanged]
   */
  constructor({ root, signaling, media, headingLevel = 2, extraControls = [], onPeersChanged = () => {} }) {
    this.signaling = signaling;
    this.media = media;
    this.onPeersChanged = onPeersChanged;
    this.peers = []; // the last `session` peers
    this.names = new Map(); // peer id -> display name
    this.tiles = new Map(); // peer id -> tile
    this.peerMedia = new Map(); // peer id -> {audio, video, screen}
    this.pcState = new Map(); // peer id -> RTCPeerConnection connectionState
    this._lastMedia = "";
    this._statusTimer = null;
    this.chat = null; // this tab's kept chat, once `welcome` says who and where we are

    this.call = new Call({
      send: (msg) => signaling.send(msg),
      localStream: media.stream,
      onRemoteStream: (id, stream) => this._showRemote(id, stream),
      onPeerClosed: (id) => this._peerClosed(id),
      onPeerState: (id, state) => {
        this.pcState.set(id, state);
        this._updateAway(id);
      },
      onStats: (id, sample) => this._showQuality(id, sample),
    });

    this._build(root, headingLevel, extraControls);

    signaling.on("welcome", (msg) => {
      this.call.setIceServers(msg.ice_servers, msg.ice_transport_policy);
      this.chat = chatStore(msg.room, msg.participant_id);
    });
    // Fresh TURN credentials before the old ones expire: an ICE restart uses them.
    signaling.on("ice_servers", (msg) => this.call.setIceServers(msg.ice_servers));
    signaling.on("session", (msg) => this._onSession(msg));
    for (const type of SIGNALS) signaling.on(type, (msg) => this.call.handleSignal(msg));
    signaling.on("chat", (msg) => this._addChat({
      name: this.names.get(msg.from) || msg.name, text: msg.text, at: msg.at }));
    signaling.on("media", (msg) => this._onPeerMedia(msg));
    signaling.on("open", ({ reconnected }) => {
      if (reconnected) this.call.resume();
    });
    media.on("track", ({ kind, track }) => this.call.replaceTrack(kind, track));
    media.on("change", () => {
      this._sendMediaState(false);
      this._updateShareButton();
    });
    media.on("speaker", (id) => this.tiles.forEach((tile) => tile.setSinkId(id)));
    this._setUpQualityReports(signaling); // after the `session` listener above: it reads this.peers
  }

  _build(root, headingLevel, extraControls) {
    const headingId = `${root.id || "call"}-chat-heading`;
    this.statusLine = el("p", { className: "status-line", role: "status", dataset: { testid: "call-status" } });
    this.selfTile = selfTile(this.media);
    this.grid = el("div", { className: "video-grid", dataset: { testid: "video-grid" } }, this.selfTile.root);

    // A live list rather than role="log": a log may not own list items.
    this.chatLog = el("ol", { className: "chat-log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": t("common.chatLog"), dataset: { testid: "chat-log" } });
    this.chatClosed = el("p", { className: "hint" }, t("common.chatClosed"));
    this.chatInput = el("input", { type: "text", id: `${headingId}-input`, maxLength: 2000, autocomplete: "off",
      dataset: { testid: "chat-input" } });
    this.chatSend = el("button", { type: "submit", className: "button", dataset: { testid: "chat-send" } },
      t("common.send"));
    const chatForm = el("form", { className: "chat-form" },
      el("label", { htmlFor: `${headingId}-input`, className: "visually-hidden" }, t("common.chatLabel")),
      this.chatInput, this.chatSend);
    chatForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this._sendChat();
    });
    const chat = el("aside", { className: "chat", "aria-labelledby": headingId },
      el(`h${headingLevel}`, { id: headingId }, t("common.chat")), this.chatLog, this.chatClosed, chatForm);

    this.shareButton = el("button", { type: "button", className: "button", dataset: { testid: "share-screen" },
      hidden: !this.media.canShareScreen, onclick: () => this._toggleSharing() });
    this.sharingNote = el("p", { className: "note", hidden: true, dataset: { testid: "sharing-note" } },
      t("common.sharingNote"));
    const devices = new DeviceChooser(this.media, { prefix: "call", onError: (text) => this.status(text) });
    const panelId = `${headingId}-devices`;
    const panel = el("section", { className: "device-panel", id: panelId, hidden: true,
      "aria-label": t("common.devicesHeading"), dataset: { testid: "device-panel" } }, devices.root);
    const devicesToggle = el("button", { type: "button", className: "button", "aria-expanded": "false",
      "aria-controls": panelId, dataset: { testid: "devices-toggle" } }, t("common.devices"));
    devicesToggle.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      devicesToggle.setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) devices.refresh();
    });
    const controls = el("div", { className: "controls controls-call", role: "group",
      "aria-label": t("common.callControls") },
    ...mediaButtons(this.media), this.media.blur ? blurButton(this.media.blur) : null, this.shareButton,
    devicesToggle, ...extraControls);
    if (this.media.blur) this._sayBlurNotices(this.media.blur);

    root.classList.add("call-view");
    root.replaceChildren(this.statusLine,
      el("div", { className: "call-layout" },
        el("div", { className: "call-main" }, this.grid, controls, this.sharingNote, panel),
        chat));
    this._updateShareButton();
    this._updateChatOpen();
  }

  /** Blur's own notices (it could not start, it turned itself off) in the view's live status. */
  _sayBlurNotices(blur) {
    let said = "";
    blur.onChange(() => {
      if (blur.notice && blur.notice !== said) this.status(blur.notice);
      said = blur.notice;
    });
  }

  /** Call quality (qualityreport.js): this page's summaries go to the server every
   *  `quality_interval` s while in the session; a therapist is told of a client's poor side. */
  _setUpQualityReports(signaling) {
    this.qualityReport = new QualityReporter(this.call.pcs, (msg) => this.inSession && signaling.send(msg));
    this.peerQuality = new Map(); // peer id -> their latest level, from `peer_quality`
    this.peerQualityNote = el("p", { className: "note peer-quality", role: "status", hidden: true,
      dataset: { testid: "peer-quality" } });
    this.statusLine.after(this.peerQualityNote);
    signaling.on("welcome", (msg) => this.qualityReport.start(msg.quality_interval));
    signaling.on("peer_quality", (msg) => {
      this.peerQuality.set(msg.from, msg.level);
      this._showPeerQuality();
    });
    signaling.on("session", () => this._showPeerQuality());
  }

  _showPeerQuality() {
    const poor = this.peers.filter((p) => this.peerQuality.get(p.participant_id) === "poor")
      .map((p) => this.names.get(p.participant_id) || shownName(p));
    const text = poor.length ? t("callQuality.peerPoor", poor) : "";
    if (this.peerQualityNote.textContent !== text) this.peerQualityNote.textContent = text;
    this.peerQualityNote.hidden = !poor.length;
  }

  /** A short sentence in the view's status line (a live region). */
  status(text, { clearAfter = 0 } = {}) {
    clearTimeout(this._statusTimer);
    this.statusLine.textContent = text || "";
    if (clearAfter) this._statusTimer = setTimeout(() => { this.statusLine.textContent = ""; }, clearAfter);
  }

  get inSession() {
    return this.peers.length > 0;
  }

  /** Our part of the session is over (sent back, ended): close every connection, clear the view. */
  end({ notify = false } = {}) {
    this.call.closeAll(notify);
    this.media.stopSharing(); // never keep sharing a screen into the waiting room
    for (const id of [...this.tiles.keys()]) this._dropTile(id);
    this.peers = [];
    this.peerMedia.clear();
    this.pcState.clear();
    this.peerQuality.clear();
    this._showPeerQuality();
    this._lastMedia = "";
    this.forgetChat();
    this.status("");
  }

  /** Nothing of the chat may outlive the session: off the screen and out of this tab's storage. */
  forgetChat() {
    forgetChats();
    this.chatLog.replaceChildren();
    this._updateChatOpen();
  }

  _onSession(msg) {
    const before = new Map(this.peers.map((p) => [p.participant_id, p]));
    this.peers = msg.peers;
    for (const peer of msg.peers) {
      this.names.set(peer.participant_id, shownName(peer));
      this.tiles.get(peer.participant_id)?.setName(shownName(peer));
    }
    this.call.updatePeers(msg.peers);
    const joined = msg.peers.filter((p) => !before.has(p.participant_id));
    const left = [...before.values()].filter((p) => !msg.peers.some((q) => q.participant_id === p.participant_id));
    for (const peer of left) this._dropTile(peer.participant_id);
    for (const peer of msg.peers) {
      this._tileFor(peer.participant_id);
      const was = before.get(peer.participant_id);
      if (!peer.connected && (!was || was.connected)) {
        this.status(t("common.peerReconnecting", shownName(peer)));
      } else if (peer.connected && was && !was.connected) {
        this.status(t("common.peerBack", shownName(peer)), { clearAfter: PEER_BACK_NOTE_MS });
      }
      this._updateAway(peer.participant_id);
    }
    if (joined.length) {
      if (!before.size) this.status(t("common.connectingVideo"));
      this._sendMediaState(true); // newcomers learn whether we are muted
    }
    if (!msg.peers.length) {
      this.forgetChat(); // the session is over (or there is none): its chat goes with it
    } else if (!before.size) {
      this._restoreChat(); // back in the session after a refresh: the chat so far
    }
    this._updateChatOpen();
    this.onPeersChanged({ joined, left, peers: msg.peers });
  }

  /** The peer's tile, made as soon as they are in the session (even before, or without, video). */
  _tileFor(peerId) {
    let tile = this.tiles.get(peerId);
    if (!tile) {
      tile = videoTile({ id: peerId, name: this.names.get(peerId) || "" });
      this.tiles.set(peerId, tile);
      this.grid.insertBefore(tile.root, this.selfTile.root);
      tile.setSinkId(this.media.speaker);
      this._applyPeerMedia(peerId);
      this._updateAway(peerId);
    }
    return tile;
  }

  _showRemote(peerId, stream) {
    this._tileFor(peerId).setStream(stream);
    if (this.statusLine.textContent === t("common.connectingVideo")) this.status("");
  }

  /** Their connection closed: keep the tile of someone still in the session (a reload). */
  _peerClosed(peerId) {
    this.pcState.delete(peerId);
    if (this.peers.some((p) => p.participant_id === peerId)) this.tiles.get(peerId)?.setStream(null);
    else this._dropTile(peerId);
  }

  _dropTile(peerId) {
    this.tiles.get(peerId)?.root.remove();
    this.tiles.delete(peerId);
    this.pcState.delete(peerId);
  }

  _onPeerMedia(msg) {
    this.peerMedia.set(msg.from, { audio: msg.audio, video: msg.video, screen: msg.screen });
    this._applyPeerMedia(msg.from);
  }

  _applyPeerMedia(peerId) {
    const tile = this.tiles.get(peerId);
    const media = this.peerMedia.get(peerId);
    if (!tile || !media) return;
    tile.setMuted(!media.audio);
    tile.setCameraOff(!media.video);
    tile.setScreen(Boolean(media.screen));
  }

  /** "Reconnecting…" on a tile while its signaling or its media connection is away. */
  _updateAway(peerId) {
    const tile = this.tiles.get(peerId);
    if (!tile) return;
    const listed = this.peers.find((p) => p.participant_id === peerId);
    const state = this.pcState.get(peerId);
    tile.setReconnecting((listed && !listed.connected) || state === "disconnected" || state === "failed");
  }

  _showQuality(peerId, sample) {
    const expectVideo = this.peerMedia.get(peerId)?.video !== false;
    this.tiles.get(peerId)?.setQuality({ level: qualityLevel(sample, { expectVideo }), detail: qualityDetail(sample) });
  }

  _sendMediaState(force) {
    if (!this.inSession) return;
    const state = this.media.state();
    const key = JSON.stringify(state);
    if (!force && key === this._lastMedia) return;
    if (this.signaling.send({ type: "media", ...state })) this._lastMedia = key;
  }

  async _toggleSharing() {
    if (this.media.sharing) {
      this.media.stopSharing();
      return;
    }
    try {
      await this.media.startSharing();
    } catch (err) {
      if (err.name !== "NotAllowedError" && err.name !== "AbortError") this.status(t("common.shareFailed"));
    }
  }

  _updateShareButton() {
    this.shareButton.textContent = this.media.sharing ? t("common.stopSharing") : t("common.shareScreen");
    this.shareButton.dataset.on = String(!this.media.sharing);
    this.sharingNote.hidden = !this.media.sharing;
  }

  _updateChatOpen() {
    const open = this.inSession;
    this.chatInput.disabled = !open;
    this.chatSend.disabled = !open;
    this.chatClosed.hidden = open || this.chatLog.children.length > 0;
  }

  _sendChat() {
    const text = this.chatInput.value.trim();
    if (!text || !this.inSession) return;
    if (this.signaling.send({ type: "chat", text })) {
      this._addChat({ name: "", text, at: Date.now() / 1000, mine: true });
      this.chatInput.value = "";
    }
  }

  /** Show one chat message and keep it for this tab. */
  _addChat(entry) {
    this.chat?.add(entry);
    this._showChat(entry);
  }

  _restoreChat() {
    const kept = this.chat ? this.chat.load() : [];
    if (!kept.length) return;
    this.chatLog.replaceChildren();
    kept.forEach((entry) => this._showChat(entry));
  }

  _showChat({ name, text, at, mine = false }) {
    const from = mine ? t("common.you") : String(name);
    const who = el("span", { className: "chat-who", text: t("common.chatFrom", from, clockTime(at)) });
    this.chatLog.append(el("li", { dataset: { testid: "chat-message" } }, who, el("span", { text: String(text) })));
    this.chatLog.scrollTop = this.chatLog.scrollHeight;
    this.chatClosed.hidden = true;
  }
}
