// The signaling WebSocket: authenticates with its first message, emits every message by type,
// and reconnects by itself after a network loss or when the server asks (bye reconnect:true,
// close 1001 / 4503). It never reconnects after a close that ends this participant's part.

/**
 * The server's close codes, named as in its error table (signaling/errors.py; a unit test keeps
 * the two equal). TERMINAL below says which of them end this participant's part.
 */
export const CLOSE = {
  GOING_AWAY: 1001,
  FRAME_TOO_LARGE: 1009,
  INTERNAL: 1011,
  AUTH_REQUIRED: 4001,
  AUTH_TIMEOUT: 4002,
  TOKEN_INVALID: 4003,
  TOKEN_EXPIRED: 4004,
  TOKEN_NOT_YET_VALID: 4005,
  TOKEN_REVOKED: 4006,
  WRONG_TOKEN_KIND: 4007,
  WRONG_ROOM: 4008,
  ORIGIN_NOT_ALLOWED: 4009,
  REPLACED: 4010,
  DENIED: 4011,
  REMOVED: 4012,
  SESSION_ENDED: 4013,
  ROOM_ENDED: 4014,
  EXPIRED: 4015,
  LEFT: 4016,
  TOO_SLOW: 4017,
  INVALID_NAME: 4018,
  SESSION_EXPIRED: 4019,
  TIME_UP: 4020,
  LINK_IN_USE: 4021,
  TOO_MANY_SOCKETS: 4029,
  WAITING_ROOM_FULL: 4030,
  CONSENT_REQUIRED: 4031,
  INVALID_EMERGENCY: 4032,
  ROOM_LINK_LOCKED: 4050,
  ROOM_LINK_FULL: 4051,
  UNAVAILABLE: 4503,
};

const TERMINAL = new Set([
  CLOSE.TOKEN_INVALID, CLOSE.TOKEN_EXPIRED, CLOSE.TOKEN_NOT_YET_VALID, CLOSE.TOKEN_REVOKED,
  CLOSE.WRONG_TOKEN_KIND, CLOSE.WRONG_ROOM, CLOSE.ORIGIN_NOT_ALLOWED, CLOSE.REPLACED,
  CLOSE.DENIED, CLOSE.REMOVED, CLOSE.SESSION_ENDED, CLOSE.ROOM_ENDED, CLOSE.EXPIRED,
  CLOSE.LEFT, CLOSE.INVALID_NAME, CLOSE.SESSION_EXPIRED, CLOSE.TIME_UP, CLOSE.LINK_IN_USE,
  CLOSE.CONSENT_REQUIRED, CLOSE.INVALID_EMERGENCY, CLOSE.ROOM_LINK_LOCKED, CLOSE.ROOM_LINK_FULL,
]);

/** The kind error page (strings.js `errors.*`) for a close code that ends the page's part. */
const ERROR_PAGES = new Map([
  [CLOSE.TOKEN_INVALID, "invalid"],
  [CLOSE.TOKEN_EXPIRED, "expired"],
  [CLOSE.TOKEN_NOT_YET_VALID, "notYet"],
  [CLOSE.TOKEN_REVOKED, "revoked"],
  [CLOSE.WRONG_TOKEN_KIND, "wrongKind"],
  [CLOSE.WRONG_ROOM, "wrongKind"],
  [CLOSE.ORIGIN_NOT_ALLOWED, "origin"],
  [CLOSE.REPLACED, "replaced"],
  [CLOSE.DENIED, "denied"],
  [CLOSE.REMOVED, "removed"],
  [CLOSE.EXPIRED, "expiredPlace"],
  [CLOSE.INVALID_NAME, "name"],
  [CLOSE.SESSION_EXPIRED, "signIn"],
  [CLOSE.TIME_UP, "timeUp"],
  [CLOSE.LINK_IN_USE, "linkInUse"],
  [CLOSE.CONSENT_REQUIRED, "consent"],
  [CLOSE.INVALID_EMERGENCY, "emergency"],
  [CLOSE.ROOM_LINK_LOCKED, "roomLinkLocked"],
  [CLOSE.ROOM_LINK_FULL, "roomLinkFull"],
]);

export function errorPageFor(code) {
  return ERROR_PAGES.get(code) || "generic";
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 10000;
const GIVE_UP_AFTER_MS = 60000;

/** ws(s)://this host/ws: the service that served the page. */
export function signalingUrl() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}

/** True when a socket closed with `code` (and this bye) should be opened again. */
export function shouldReconnect(code, bye) {
  if (bye && bye.reconnect) return true;
  return !TERMINAL.has(code);
}

export class Signaling {
  /**
   * @param {() => object} authMessage builds the auth message for each (re)connect
   * @param {string} [url] defaults to ws(s)://this host/ws
   */
  constructor(authMessage, url) {
    this.authMessage = authMessage;
    this.url = url || signalingUrl();
    this.state = "idle"; // idle | connecting | open | reconnecting | closed
    this.closeCode = null;
    this.bye = null;
    this._listeners = new Map();
    this._ws = null;
    this._timer = null;
    this._pingTimer = null;
    this._delay = FIRST_DELAY_MS;
    this._lostAt = null;
    this._stopped = false;
    this._pingId = 0;
    this._awaitingPong = false;
    this._onOnline = () => {
      if (this.state === "reconnecting" && !this._ws) this._retryNow();
    };
  }

  /** Listen to a message type ("welcome", "state", ...) or to a lifecycle event:
   *  "open" (first message after auth), "*" (every message), "reconnecting" ({delay}),
   *  "closed" ({code, reason, bye, gaveUp}). Returns an unsubscribe function. */
  on(type, fn) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(fn);
    return () => this._listeners.get(type)?.delete(fn);
  }

  _emit(type, payload) {
    for (const fn of [...(this._listeners.get(type) || [])]) {
      try {
        fn(payload);
      } catch (err) {
        console.error(`listener for ${type} failed`, err);
      }
    }
  }

  connect() {
    this._stopped = false;
    clearTimeout(this._timer);
    window.addEventListener("online", this._onOnline); // a no-op when already listening
    this.bye = null;
    this.closeCode = null;
    if (this.state !== "reconnecting") {
      // A fresh start (first connect, or "try again" after giving up): a full minute of retries.
      this.state = "connecting";
      this._lostAt = null;
      this._delay = FIRST_DELAY_MS;
    }
    const ws = new WebSocket(this.url);
    this._ws = ws;
    let greeted = false;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify(this.authMessage()));
    });
    ws.addEventListener("message", (event) => {
      if (ws !== this._ws) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        console.warn("signaling: a frame that is not JSON");
        return;
      }
      if (!msg || typeof msg.type !== "string") return;
      if (msg.type === "bye") this.bye = msg;
      if (!greeted && msg.type !== "bye" && msg.type !== "error") {
        greeted = true;
        const wasReconnecting = this.state === "reconnecting";
        this.state = "open";
        this._delay = FIRST_DELAY_MS;
        this._lostAt = null;
        this._startPing(msg.heartbeat);
        this._emit("open", { reconnected: wasReconnecting });
      }
      if (msg.type === "pong") this._awaitingPong = false;
      this._emit("*", msg);
      this._emit(msg.type, msg);
    });
    ws.addEventListener("close", (event) => {
      if (ws !== this._ws) return;
      this._ws = null;
      this._stopPing();
      this.closeCode = event.code;
      if (this._stopped) {
        this.state = "closed";
        this._emit("closed", { code: event.code, reason: event.reason, bye: this.bye, gaveUp: false });
        return;
      }
      if (shouldReconnect(event.code, this.bye)) {
        this._scheduleReconnect();
      } else {
        this.state = "closed";
        this._emit("closed", { code: event.code, reason: event.reason, bye: this.bye, gaveUp: false });
      }
    });
  }

  _scheduleReconnect() {
    const now = Date.now();
    if (this._lostAt === null) this._lostAt = now;
    if (now - this._lostAt > GIVE_UP_AFTER_MS) {
      this.state = "closed";
      this._emit("closed", { code: this.closeCode, reason: "", bye: this.bye, gaveUp: true });
      return;
    }
    const retryAfter = (this.bye && this.bye.retry_after ? this.bye.retry_after * 1000 : 0);
    // A server that is restarting asks us to come back: try soon, a bit spread out.
    const asked = this.bye && this.bye.reconnect;
    const base = asked ? Math.min(this._delay, FIRST_DELAY_MS) : this._delay;
    const delay = Math.max(base * (0.8 + Math.random() * 0.4), retryAfter);
    this._delay = Math.min(this._delay * 2, MAX_DELAY_MS);
    this.state = "reconnecting";
    this._emit("reconnecting", { delay, code: this.closeCode });
    this._timer = setTimeout(() => this.connect(), delay);
  }

  _retryNow() {
    clearTimeout(this._timer);
    this.connect();
  }

  // The server pings at the WebSocket level; these application pings let the page notice a
  // dead connection (a laptop waking up, a Wi-Fi switch) faster than TCP would.
  _startPing(heartbeat) {
    this._stopPing();
    const every = Math.max(5, Number(heartbeat) || 20) * 1000;
    this._awaitingPong = false;
    this._pingTimer = setInterval(() => {
      if (this._awaitingPong) {
        this._dropDeadSocket();
        return;
      }
      this._awaitingPong = true;
      this.send({ type: "ping", id: ++this._pingId });
    }, every);
  }

  _dropDeadSocket() {
    // A dead socket may take a minute to report its close: let go of it and reconnect now.
    console.warn("signaling: no pong; reconnecting");
    const ws = this._ws;
    this._ws = null;
    this._stopPing();
    try {
      ws?.close(4000, "no pong");
    } catch {
      // already closing
    }
    this.closeCode = 1006;
    this._scheduleReconnect();
  }

  _stopPing() {
    clearInterval(this._pingTimer);
    this._pingTimer = null;
  }

  /** Send a message; false when the socket is not open (the message is dropped). */
  send(msg) {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  get isOpen() {
    return this.state === "open";
  }

  /** Close for good (no reconnect). */
  close(code = 1000) {
    this._stopped = true;
    clearTimeout(this._timer);
    this._stopPing();
    window.removeEventListener("online", this._onOnline);
    if (this._ws) {
      this._ws.close(code);
    } else if (this.state !== "closed") {
      this.state = "closed";
      this._emit("closed", { code, reason: "", bye: this.bye, gaveUp: false });
    }
  }
}
