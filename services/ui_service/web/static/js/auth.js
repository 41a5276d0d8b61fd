// Who the page is: a guest (POST /auth/guest) or a user signed in with the organisation's
// OpenID Connect provider (authorization code flow with PKCE S256). The UI service exchanges
// the code and keeps the refresh token in an HttpOnly cookie; this page only ever holds the
// short-lived ID token it presents to the chat service, and renews it before it expires.

const GUEST_KEY = "chatbot.token";
const PKCE_KEY = "chatbot.pkce";
// Set while the UI service holds our refresh cookie (which scripts cannot see): no refresh is
// tried, and refused, on every visit of someone who never signed in.
const SIGNED_IN_KEY = "chatbot.signedIn";

export class AuthError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function redirectUri() {
  return `${location.origin}/`;
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
    credentials: "same-origin",
  });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) {
    const error = answer.error || {};
    throw new AuthError(error.code || "unavailable", error.message || `${path}: ${r.status}`);
  }
  return answer;
}

export class Auth {
  /** config: the `auth` of /config.json ({guest_access, oidc: {issuer, client_id} | null}). */
  constructor(config) {
    this.config = config || { guest_access: true, oidc: null };
    this.kind = null; // "guest" | "oidc" | null (nobody yet)
    this.token = null;
    this.expiresAt = 0; // ms since the epoch
    this.lifetime = 0; // ms the current token was issued for
    this.user = null; // {id, name, admin}
    this.error = null; // why the last sign-in failed (shown on the sign-in screen)
  }

  get canSignIn() {
    return Boolean(this.config.oidc);
  }

  get guestAccess() {
    return Boolean(this.config.guest_access);
  }

  /** Find out who we are: back from the provider, signed in before, a guest, or nobody. */
  async start() {
    const params = new URLSearchParams(location.search);
    if (this.canSignIn && params.has("state") && (params.has("code") || params.has("error"))) {
      try {
        await this.finishSignIn(params);
        return;
      } catch (err) {
        this.error = err;
      }
    }
    if (this.canSignIn && localStorage.getItem(SIGNED_IN_KEY)) {
      try {
        await this.refresh();
        return;
      } catch {
        /* not signed in (or the provider forgot us) */
      }
    }
    if (this.guestAccess) await this.guest();
  }

  /** Send the browser to the provider's sign-in page (PKCE S256). */
  async signIn() {
    const meta = await (await fetch("/auth/oidc/metadata")).json();
    const verifier = randomString(48);
    const state = randomString(16);
    const returnTo = /^\/[cs]\//.test(location.pathname) ? location.pathname : "/";
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo }));
    const challenge = base64url(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)),
    );
    const url = new URL(meta.authorization_endpoint);
    for (const [k, v] of Object.entries({
      response_type: "code", client_id: meta.client_id, redirect_uri: redirectUri(),
      scope: meta.scopes, state, code_challenge: challenge, code_challenge_method: "S256",
    })) url.searchParams.set(k, v);
    location.assign(url.toString());
  }

  async finishSignIn(params) {
    const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
    sessionStorage.removeItem(PKCE_KEY);
    history.replaceState({}, "", saved?.returnTo || "/");
    if (params.has("error")) {
      throw new AuthError("unauthorized", params.get("error_description") || params.get("error"));
    }
    if (!saved || saved.state !== params.get("state")) {
      throw new AuthError("unauthorized", "the sign-in did not start here; sign in again");
    }
    this.signedIn(await post("/auth/oidc/token", {
      code: params.get("code"), code_verifier: saved.verifier, redirect_uri: redirectUri(),
    }));
  }

  async refresh() {
    try {
      this.signedIn(await post("/auth/oidc/refresh"));
    } catch (err) {
      if (err.code === "unauthorized") localStorage.removeItem(SIGNED_IN_KEY);
      throw err;
    }
  }

  signedIn(body) {
    this.kind = "oidc";
    this.setToken(body.token, body.expires_in);
    this.user = { id: body.user_id, name: body.name || body.user_id, admin: Boolean(body.admin) };
    localStorage.removeItem(GUEST_KEY);
    localStorage.setItem(SIGNED_IN_KEY, "1");
  }

  async guest() {
    const old = localStorage.getItem(GUEST_KEY);
    const body = await post("/auth/guest", old ? { token: old } : {});
    localStorage.setItem(GUEST_KEY, body.token);
    this.kind = "guest";
    this.setToken(body.token, body.expires_in);
    this.user = { id: body.user_id, name: null, admin: false };
  }

  /** A token that may only read share links (share.get), where public links are allowed. */
  async reader() {
    const body = await post("/auth/reader");
    this.kind = "reader";
    this.setToken(body.token, body.expires_in);
    this.user = { id: null, name: null, admin: false };
  }

  setToken(token, expiresIn) {
    this.token = token;
    this.lifetime = Math.max(1, Number(expiresIn) || 60) * 1000;
    this.expiresAt = Date.now() + this.lifetime;
  }

  /** A fresh token of the same identity (throws AuthError when that is no longer possible). */
  async renew() {
    if (this.kind === "oidc") await this.refresh();
    else if (this.kind === "guest") await this.guest();
    else if (this.kind === "reader") await this.reader();
    else throw new AuthError("unauthorized", "not signed in");
    return this.token;
  }

  /** When to renew: a third of the lifetime before expiry, at most five minutes before. */
  renewIn() {
    const margin = Math.min(5 * 60 * 1000, this.lifetime / 3);
    return Math.max(1000, this.expiresAt - margin - Date.now());
  }

  /** Forget the session here, then end it at the provider (RP-initiated logout). */
  async signOut() {
    const hint = this.token;
    localStorage.removeItem(SIGNED_IN_KEY);
    await post("/auth/oidc/logout").catch(() => {});
    this.kind = null;
    this.token = null;
    const meta = await (await fetch("/auth/oidc/metadata")).json().catch(() => ({}));
    if (!meta.end_session_endpoint) {
      location.assign("/");
      return;
    }
    const url = new URL(meta.end_session_endpoint);
    url.searchParams.set("client_id", meta.client_id);
    url.searchParams.set("post_logout_redirect_uri", redirectUri());
    if (hint) url.searchParams.set("id_token_hint", hint);
    location.assign(url.toString());
  }
}
