// The chat service's HTTP routes beside Socket.IO: files (upload, download, delete) and
// imports. Each request carries the user's token; a 401 renews it once and asks again.

export class FileApi {
  /** base: the chat service's URL ("" = this origin); auth: {token, renew()} */
  constructor(base, auth) {
    this.base = String(base || "").replace(/\/$/, "");
    this.auth = auth;
  }

  async request(path, init = {}) {
    for (let attempt = 0; ; attempt++) {
      const headers = { ...(init.headers || {}), Authorization: `Bearer ${this.auth.token}` };
      const r = await fetch(`${this.base}${path}`, { ...init, headers });
      if (r.status === 401 && attempt === 0) {
        await this.auth.renew();
        continue;
      }
      if (r.ok) return r;
      let error = { code: "unavailable", message: `HTTP ${r.status}` };
      try {
        error = (await r.json()).error || error;
      } catch {
        /* no JSON body: keep the status */
      }
      throw Object.assign(new Error(error.message), { code: error.code });
    }
  }

  /** Store a file in the conversation: {id, name, media_type, size, kind, ...} */
  async upload(conversationId, file) {
    const query = new URLSearchParams({ conversation_id: conversationId, name: file.name || "pasted" });
    const r = await this.request(`/v1/files?${query}`, {
      method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" },
    });
    return (await r.json()).file;
  }

  async blob(fileId) {
    return (await this.request(`/v1/files/${encodeURIComponent(fileId)}`)).blob();
  }

  async remove(fileId) {
    await this.request(`/v1/files/${encodeURIComponent(fileId)}`, { method: "DELETE" });
  }

  /** Import an exported conversation (JSON text): the new conversation. */
  async importConversation(text) {
    const r = await this.request("/v1/imports", {
      method: "POST", body: text, headers: { "Content-Type": "application/json" },
    });
    return (await r.json()).conversation;
  }
}

export async function blobToBase64(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
