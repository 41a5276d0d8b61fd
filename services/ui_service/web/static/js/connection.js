// The Socket.IO connection, its token kept fresh (auth.js) and acked requests.

const ACK_TIMEOUT_MS = 15000;
const RETRY_RENEW_MS = 5000;

export class RequestError extends Error {
  constructor(code, message, retryAfter) {
    super(message || code);
    this.code = code;
    this.retryAfter = retryAfter; // seconds, when the service said when to try again
  }
}

/**
 * The chat connection. `onState(state)` gets "connecting" | "connected" | "offline";
 * `onConnect(first)` runs on every (re)connection; `onRefused(code, message)` when the
 * service will not have us (signed out, disabled).
 *
 * The token is renewed before it expires (`auth.renew()`, then `auth.renew` over the open
 * socket: nothing in flight is lost); a socket the server closed (token expired) is reopened
 * with a fresh one.
 */
export class Connection {
  constructor(io, auth, { onState, onConnect, onRefused }) {
    this.io = io;
    this.auth = auth;
    this.onState = onState;
    this.onConnect = onConnect;
    this.onRefused = onRefused || (() => {});
    this.socket = null;
    this.renewals = [];
    this.renewTimer = 0;
    this.renewed = 0; // tokens handed to the open socket (tests read it from the page)
    this.everConnected = false;
  }

  open(config) {
    const url = config.chat_url || undefined; // "" = same origin (one ingress)
    const options = {
      path: config.socket_path || "/socket.io",
      auth: { token: this.auth.token },
      transports: ["websocket", "polling"],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    };
    this.socket = url ? this.io(url, options) : this.io(options);
    this.onState("connecting");
    this.socket.on("connect", () => {
      const first = !this.everConnected;
      this.everConnected = true;
      this.onState("connected");
      this.onConnect(first);
    });
    this.socket.on("disconnect", (reason) => {
      this.onState("offline");
      // The server closed it (token expired unrenewed, or the account was disabled):
      // socket.io does not reconnect by itself then. Try again with a fresh token.
      if (reason === "io server disconnect") this.reopen();
    });
    this.socket.io.on("reconnect_attempt", () => this.onState("connecting"));
    this.socket.on("connect_error", (err) => this.connectError(err));
    this.scheduleRenewal();
    return this.socket;
  }

  scheduleRenewal(delay = this.auth.renewIn()) {
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => this.renewNow(), delay);
  }

  /** A fresh token for this identity, handed to the open socket (`auth.renew`). */
  async renewNow() {
    let token;
    try {
      token = await this.auth.renew();
    } catch (err) {
      if (err?.code === "unauthorized" || err?.code === "forbidden") {
        this.onRefused(err.code, err.message);
        return;
      }
      this.scheduleRenewal(RETRY_RENEW_MS); // the UI service or the provider is away
      return;
    }
    this.socket.auth = { token };
    if (this.socket.connected) {
      try {
        await this.request("auth.renew", { token });
        this.renewed += 1;
        document.body.dataset.renewals = String(this.renewed);
      } catch {
        /* closed meanwhile: it reconnects with the new token */
      }
    }
    this.scheduleRenewal();
  }

  async reopen() {
    try {
      this.socket.auth = { token: await this.auth.renew() };
    } catch (err) {
      this.onRefused(err?.code || "unauthorized", err?.message);
      return;
    }
    this.scheduleRenewal();
    if (!this.socket.connected) this.socket.connect();
  }

  async connectError(err) {
    const code = err?.data?.code || err?.message || "";
    this.onState("offline");
    if (code === "forbidden") {
      this.socket.disconnect();
      this.onRefused("forbidden", err?.data?.message || err?.message);
      return;
    }
    if (!/unauthori[sz]ed/i.test(code) && !/token/i.test(err?.message || "")) return;
    // Refused at connect: renew the token and try again, a few times a minute.
    const now = Date.now();
    this.renewals = this.renewals.filter((at) => now - at < 60000);
    if (this.renewals.length >= 3) {
      setTimeout(() => this.connectError(err), 20000);
      return;
    }
    this.renewals.push(now);
    try {
      this.socket.auth = { token: await this.auth.renew() };
      this.scheduleRenewal();
    } catch (renewErr) {
      if (renewErr?.code === "unauthorized") {
        this.socket.disconnect();
        this.onRefused("unauthorized", renewErr.message);
        return;
      }
    }
    if (!this.socket.connected) this.socket.connect();
  }

  close() {
    clearTimeout(this.renewTimer);
    this.socket?.disconnect();
  }

  get connected() {
    return Boolean(this.socket?.connected);
  }

  on(event, handler) {
    this.socket.on(event, handler);
  }

  /** Emit with an ack; resolves the ack's fields or throws RequestError(code). */
  async request(event, payload, timeoutMs = ACK_TIMEOUT_MS) {
    let ack;
    try {
      ack = await this.socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw new RequestError("timeout", `${event}: no answer`);
    }
    if (!ack || ack.ok !== true) {
      const error = ack?.error || {};
      const retryAfter = typeof error.retry_after === "number" ? error.retry_after : undefined;
      throw new RequestError(error.code || "unavailable", error.message || event, retryAfter);
    }
    return ack;
  }
}
