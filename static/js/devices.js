// The choice of camera, microphone and speaker: three labelled <select>s that follow the devices
// plugged in, switch the local media, and send sound to the chosen speaker where the browser can;
// and, where the page has background blur (blur.js), the "Blur my background" switch.

import { chime } from "./alerts.js";
import { t } from "./strings.js";
import { el } from "./ui.js";

const CAN_PICK_SPEAKER = typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;

export class DeviceChooser {
  /**
   * @param {import("./media.js").LocalMedia} media
   * @param {object} opts
   * @param {string} opts.prefix makes ids and test ids unique when a page has two choosers
   * @param {(message: string) => void} opts.onError says what went wrong, in a sentence
   */
  constructor(media, { prefix, onError }) {
    this.media = media;
    this.onError = onError;
    const select = (kind) => el("select", { id: `${prefix}-${kind}`, dataset: { testid: `${prefix}-${kind}` } });
    const field = (kind, control) => el("div", { className: "field" },
      el("label", { htmlFor: `${prefix}-${kind}` }, t(`media.${kind}`)), control);
    this.camera = select("camera");
    this.microphone = select("microphone");
    this.speaker = select("speaker");
    const testSound = el("button", { type: "button", className: "button button-small",
      dataset: { testid: `${prefix}-test-sound` }, onclick: () => chime({ sinkId: media.speaker }) },
    t("media.testSound"));
    this.speakerField = el("div", { className: "field field-speaker" },
      el("label", { htmlFor: `${prefix}-speaker` }, t("media.speaker")),
      el("div", { className: "row" }, this.speaker, testSound));
    this.speaker.classList.add("grow");
    this.speakerNote = el("p", { className: "hint", hidden: true }, t("media.speakerFixed"));
    this.root = el("div", { className: "device-chooser" },
      field("camera", this.camera), field("microphone", this.microphone), this.speakerField, this.speakerNote,
      media.blur ? blurSwitch(media.blur, prefix) : null);

    this.camera.addEventListener("change", () => this._use("video", this.camera.value));
    this.microphone.addEventListener("change", () => this._use("audio", this.microphone.value));
    this.speaker.addEventListener("change", () => media.setSpeaker(this.speaker.value));
    media.on("change", () => this.refresh());
    navigator.mediaDevices?.addEventListener?.("devicechange", () => this.refresh());
    this.refresh();
  }

  async _use(kind, deviceId) {
    try {
      await this.media.use(kind, deviceId);
    } catch (err) {
      console.warn("devices: switch failed", err.name);
      this.onError(t("media.switchFailed"));
      this.refresh();
    }
  }

  async refresh() {
    const found = await this.media.devices();
    fill(this.camera, found.cameras, found.camera, t("media.camera"));
    fill(this.microphone, found.microphones, found.microphone, t("media.microphone"));
    const speakers = CAN_PICK_SPEAKER ? found.speakers : [];
    fill(this.speaker, speakers, found.speaker, t("media.speaker"));
    this.camera.disabled = found.cameras.length === 0;
    this.microphone.disabled = found.microphones.length === 0;
    this.speakerField.hidden = speakers.length === 0;
    this.speakerNote.hidden = speakers.length > 0;
  }
}

/**
 * "Blur my background": a switch, a hint, and a live status that says when blur is starting, on,
 * unavailable, or turned itself off.
 * @param {import("./blur.js").BackgroundBlur} blur
 */
export function blurSwitch(blur, prefix) {
  const id = `${prefix}-blur`;
  const input = el("input", { type: "checkbox", id, role: "switch", dataset: { testid: id },
    "aria-describedby": `${id}-hint ${id}-status` });
  input.addEventListener("change", () => blur.set(input.checked));
  const status = el("p", { className: "hint blur-status", id: `${id}-status`, role: "status",
    dataset: { testid: `${id}-status` } });
  const update = () => {
    input.checked = blur.on;
    input.disabled = !blur.available;
    const text = blur.notice || (!blur.available ? t("blur.unavailable")
      : blur.state === "starting" ? t("blur.starting") : blur.state === "on" ? t("blur.on") : "");
    if (status.textContent !== text) status.textContent = text;
  };
  blur.onChange(update);
  update();
  return el("div", { className: "field field-blur" },
    el("div", { className: "checkbox" }, input, el("label", { htmlFor: id }, t("blur.label"))),
    el("p", { className: "hint", id: `${id}-hint` }, t("blur.hint")), status);
}

/** Fill a <select> with devices (keeping the selection), naming unnamed ones "Camera 2". */
function fill(select, devices, currentId, kindName) {
  const options = devices.map((d, i) =>
    el("option", { value: d.deviceId }, d.label || t("media.unnamed", kindName, i + 1)));
  const same = select.options.length === options.length &&
    options.every((o, i) => select.options[i].value === o.value && select.options[i].text === o.text);
  if (!same) select.replaceChildren(...options);
  if (currentId && devices.some((d) => d.deviceId === currentId)) select.value = currentId;
}
