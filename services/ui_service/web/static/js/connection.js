// Guest token (kept in localStorage), the Socket.IO connection and acked requests.

const TOKEN_KEY = "chatbot.token";
const ACK_TIMEOUT_MS = 15000;

export class RequestError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

function tokenExpiry(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload.exp === "number" ? payload.exp * 1000 : 0;
  } catch {
    return 0;
  }
}

/** A new guest token, or the same user again when `old` is still renewable. */
async function fetchToken(old) {
  const r = await fetch("/auth/guest", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(old ? { token: old } : {}),
  });
  if (!r.ok) {
    // E.g. 403 when guest access is turned off: show the service's own words.
    const error = (await r.json().catch(() => ({}))).error || {};
    throw new RequestError(error.code || "unavailable", error.message || `token request failed (${r.status})`);
  }
  const body = await r.json();
  localStorage.setItem(TOKEN_KEY, body.token);
  return body.token;
}

async function currentToken() {
  const saved = localStorage.getItem(TOKEN_KEY);
  // Renew a day before expiry so an open tab never holds a dead token.
  if (saved && tokenExpiry(saved) - Date.now() > 24 * 3600 * 1000) return saved;
  return fetchToken(saved);
}

/**
 * The chat connection. `onState(state)` gets "connecting" | "connected" | "offline";
 * `onConnect(first)` runs on every (re)connection.
 */
export class Connection {
  constructor(io, { onState, onConnect }) {
    this.io = io;
    this.onState = onState;
    this.onConnect = onConnect;
    this.socket = null;
    this.renewals = [];
    this.everConnected = false;
  }

  async open() {
    const config = await (await fetch("/config.json")).json();
    const token = await currentToken();
    const url = config.chat_url || undefined; // "" = same origin (one ingress)
    const options = {
      path: config.socket_path || "/socket.io",
      auth: { token },
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
    this.socket.on("disconnect", () => this.onState("offline"));
    this.socket.io.on("reconnect_attempt", () => this.onState("connecting"));
    this.socket.on("connect_error", (err) => this.connectError(err));
    return this.socket;
  }

  async connectError(err) {
    const code = err?.data?.code || err?.message || "";
    this.onState("offline");
    if (!/unauthori[sz]ed/i.test(code) && !/token/i.test(err?.message || "")) return;
    // Refused at connect: fetch a (renewed) guest token and try again, a few times a minute.
    const now = Date.now();
    this.renewals = this.renewals.filter((at) => now - at < 60000);
    if (this.renewals.length >= 3) {
      setTimeout(() => this.connectError(err), 20000);
      return;
    }
    this.renewals.push(now);
    try {
      this.socket.auth = { token: await fetchToken(localStorage.getItem(TOKEN_KEY)) };
    } catch {
      /* the next attempt retries */
    }
    if (!this.socket.connected) this.socket.connect();
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
      throw new RequestError(error.code || "unavailable", error.message || event);
    }
    return ack;
  }
}
