// The page's state and its conversation with the chat service (CONTRACT.md events).

import { announce, toast } from "./dom.js";
import { t } from "./i18n.js";
import { conversationTitle } from "./sidebar.js";
import { branchedElsewhere, otherBranchShown } from "./versions.js";

const PAGE = 50;
const MAX_PAGES = 20; // pages of one load (a conversation's or the list's), at most
const UNDO_MS = 5000;
const STALL_MS = 20000; // an answer silent this long is re-read (e.g. it ended elsewhere)
const BUSY_RETRIES = 10; // a send refused "busy" (unavailable, retry_after) is sent again this often

function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

function errorText(err) {
  const known = { too_large: "tooLarge", rate_limited: "rateLimited", not_found: "notFound" };
  return known[err?.code] ? t(known[err.code]) : (err?.message || t("sendFailed"));
}

export class Chat {
  /** view: {thread, renderSidebar(), showConversation(conv|null), setBusy(bool), newChatOptions()} */
  constructor(conn, view) {
    this.conn = conn;
    this.view = view;
    this.conversations = new Map();
    this.hasMore = false;
    this.results = null;
    this.query = "";
    this.currentId = null;
    this.pendingDeletes = new Map();
    this.loading = 0; // sequence of the conversation.get in flight (0 = none)
    this.buffered = [];
    this.awaitingAnswer = false; // a send or regenerate is waiting for its ack
    this.lastActivity = Date.now();
    setInterval(() => this.checkStalled(), 5000);
  }

  checkStalled() {
    const streaming = this.thread.messages.some((m) => m.status === "streaming");
    if (streaming && this.conn.connected && Date.now() - this.lastActivity > STALL_MS) {
      this.lastActivity = Date.now();
      this.resync();
    }
  }

  get thread() {
    return this.view.thread;
  }

  get current() {
    return this.currentId ? this.conversations.get(this.currentId) ?? null : null;
  }

  listed() {
    return [...this.conversations.values()]
      .filter((c) => !this.pendingDeletes.has(c.id))
      .sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
  }

  sidebarState() {
    const results = this.results && this.results.filter((c) => !this.pendingDeletes.has(c.id));
    return { conversations: this.listed(), results, currentId: this.currentId, hasMore: this.hasMore };
  }

  bindEvents() {
    this.conn.on("message.created", ({ message }) => {
      if (message?.conversation_id !== this.currentId) return;
      const pending = this.thread.messages.find((m) => m.pending && m.content === message.content);
      if (!pending && branchedElsewhere(this.thread.messages, message)) {
        this.resync(); // another tab edited an earlier message: re-read the branch shown
        return;
      }
      this.thread.upsert(message, pending?.id);
    });
    this.conn.on("message.delta", (event) => {
      if (event?.conversation_id !== this.currentId) return;
      if (this.busyRetry) this.setBusyNotice(null); // admitted: the answer streams
      if (this.loading) this.buffered.push(event);
      else this.applyDelta(event);
    });
    this.conn.on("message.done", ({ message }) => {
      if (message?.conversation_id !== this.currentId) return;
      if (this.busyRetry) this.setBusyNotice(null);
      this.thread.upsert(message);
      this.updateBusy();
      announce(t("answerDone"));
    });
    this.conn.on("message.error", (event) => {
      if (event?.conversation_id !== this.currentId) return;
      const msg = event.message_id && this.thread.find(event.message_id);
      if (msg) this.thread.upsert({ ...msg, status: "error", error: event.error, next_index: undefined });
      else toast(errorText(event.error), { kind: "error" });
      this.updateBusy();
    });
    this.conn.on("conversation.updated", ({ conversation }) => {
      if (!conversation?.id) return;
      this.conversations.set(conversation.id, conversation);
      if (conversation.id === this.currentId) {
        this.view.showConversation(conversation);
        if (otherBranchShown(this.thread.messages, conversation)) this.resync();
      }
      this.view.renderSidebar();
    });
  }

  /** Every (re)connection: reload the list, resubscribe to the open conversation. */
  async connected() {
    await this.loadList();
    if (this.currentId) await this.open(this.currentId, { push: false });
  }

  async loadList(before) {
    try {
      // A page may come back shorter than asked (the server's byte budget): ask on from its
      // last item until PAGE conversations are in or a page comes back empty.
      let got = 0;
      let last = before;
      let ended = false;
      for (let pages = 0; got < PAGE && pages < MAX_PAGES; pages++) {
        const ack = await this.conn.request("conversation.list", last ? { limit: PAGE - got, before: last } : { limit: PAGE });
        if (!before && pages === 0) this.conversations.clear();
        for (const c of ack.conversations) this.conversations.set(c.id, c);
        got += ack.conversations.length;
        if (!ack.conversations.length) {
          ended = true;
          break;
        }
        last = ack.conversations.at(-1).updated_at;
      }
      this.hasMore = !ended && got >= PAGE;
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
    this.view.renderSidebar();
  }

  loadMore() {
    const last = this.listed().at(-1);
    if (last) this.loadList(last.updated_at);
  }

  async search(query) {
    this.query = query.trim();
    if (!this.query) {
      this.results = null;
      this.view.renderSidebar();
      return;
    }
    const asked = this.query;
    try {
      const ack = await this.conn.request("conversation.search", { query: asked.slice(0, 200), limit: 30 });
      if (asked === this.query) this.results = ack.conversations;
    } catch (err) {
      if (asked === this.query) this.results = [];
    }
    if (asked === this.query) this.view.renderSidebar();
  }

  newChat({ push = true } = {}) {
    this.busyWait?.cancel();
    if (this.busyRetry) this.setBusyNotice(null);
    this.currentId = null;
    this.loading = 0;
    this.thread.reset([]);
    this.view.showConversation(null);
    this.updateBusy();
    if (push && location.pathname !== "/") history.pushState({}, "", "/");
    this.view.renderSidebar();
  }

  /** Open (or re-open after a reconnect) a conversation; resumes an answer still streaming. */
  async open(id, { push = true } = {}) {
    const sameAsBefore = id === this.currentId;
    this.currentId = id;
    if (push && location.pathname !== `/c/${id}`) history.pushState({}, "", `/c/${encodeURIComponent(id)}`);
    const seq = (this.loading = (this.loading || 0) + 1);
    this.buffered = [];
    if (!sameAsBefore) {
      this.busyWait?.cancel(); // a send waiting out "busy" belongs to the conversation left
      if (this.busyRetry) this.setBusyNotice(null);
      this.thread.reset([]);
      this.view.showConversation(this.conversations.get(id) ?? { id, title: "" });
    }
    this.view.renderSidebar();
    let ack;
    try {
      ack = await this.loadConversation(id);
    } catch (err) {
      if (this.loading !== seq) return;
      this.loading = 0;
      if (err.code === "not_found") {
        toast(t("notFound"), { kind: "error" });
        this.newChat({ push: false });
        history.replaceState({}, "", "/");
      } else {
        toast(errorText(err), { kind: "error" });
      }
      return;
    }
    if (this.loading !== seq || this.currentId !== id) return;
    this.lastActivity = Date.now();
    this.conversations.set(id, ack.conversation);
    this.view.showConversation(ack.conversation);
    this.thread.reset(ack.messages);
    this.loading = 0;
    // Deltas that arrived while the snapshot was on its way: keep those not yet in it.
    const early = this.buffered.sort((a, b) => a.index - b.index);
    this.buffered = [];
    for (const event of early) this.applyDelta(event);
    this.updateBusy();
    this.view.renderSidebar();
  }

  /**
   * conversation.get, paged: an ack holds at most the server's byte budget of messages, so ask
   * on from the last seq until the page holds message_count messages or a page comes back empty.
   */
  async loadConversation(id) {
    const ack = await this.conn.request("conversation.get", { conversation_id: id, limit: 500 });
    const messages = [...ack.messages];
    for (let pages = 1; pages < MAX_PAGES && messages.length && messages.length < ack.conversation.message_count; pages++) {
      const after_seq = messages.at(-1).seq;
      const next = await this.conn.request("conversation.get", { conversation_id: id, after_seq, limit: 500 });
      if (!next.messages.length) break;
      messages.push(...next.messages);
      ack.conversation = next.conversation;
    }
    return { conversation: ack.conversation, messages };
  }

  applyDelta({ message_id: id, index, delta }) {
    this.lastActivity = Date.now();
    let msg = this.thread.find(id);
    if (!msg) {
      if (index !== 0) {
        this.resync();
        return;
      }
      msg = { id, conversation_id: this.currentId, role: "assistant", content: "", status: "streaming", next_index: 0 };
    }
    if (msg.status !== "streaming" || typeof msg.next_index !== "number") return;
    if (index < msg.next_index) return; // already in the snapshot
    if (index > msg.next_index) {
      this.resync(); // a gap: take a fresh snapshot
      return;
    }
    this.thread.upsert({ ...msg, content: msg.content + delta, next_index: index + 1 });
    this.updateBusy();
  }

  resync() {
    if (this.currentId && !this.loading) this.open(this.currentId, { push: false });
  }

  updateBusy() {
    const streaming = this.thread.messages.some((m) => m.status === "streaming");
    this.view.setBusy(Boolean(streaming || this.awaitingAnswer || this.busyRetry));
  }

  /** Wait out a "busy" refusal (retry_after seconds, jittered) with a notice; false when the
   * user stopped or left meanwhile. */
  waitBusy(retryAfter) {
    const seconds = Math.max(1, Math.ceil(retryAfter));
    this.setBusyNotice(t("busyRetry").replace("{s}", String(seconds)));
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(true), seconds * 1000 * (0.8 + 0.4 * Math.random()));
      const done = (go) => {
        clearTimeout(timer);
        this.busyWait = null;
        resolve(go);
      };
      this.busyWait = { cancel: () => done(false) };
    });
  }

  setBusyNotice(text) {
    this.busyRetry = Boolean(text);
    let box = document.getElementById("busy-notice");
    if (!text) {
      box?.remove();
      this.updateBusy();
      return;
    }
    if (!box) {
      box = document.createElement("div");
      box.id = "busy-notice";
      box.className = "busy-notice";
      box.setAttribute("role", "status");
      this.thread.root.after(box);
    }
    box.textContent = text;
    this.updateBusy();
  }

  /** The open conversation's id; a new chat is created first (files attach to it). */
  async ensureConversation() {
    if (this.currentId) return this.currentId;
    if (!this.creating) {
      this.creating = (async () => {
        try {
          const opts = this.view.newChatOptions();
          // No title: the chat service names the conversation after its first message.
          const ack = await this.conn.request("conversation.create", opts);
          this.conversations.set(ack.conversation.id, ack.conversation);
          this.currentId = ack.conversation.id;
          history.pushState({}, "", `/c/${encodeURIComponent(this.currentId)}`);
          this.view.showConversation(ack.conversation);
          this.view.renderSidebar();
          return this.currentId;
        } catch (err) {
          toast(errorText(err), { kind: "error" });
          return null;
        } finally {
          this.creating = null;
        }
      })();
    }
    return this.creating;
  }

  /** Change the open conversation's settings (conversation.update); throws on refusal. */
  async updateSettings(sampling) {
    const ack = await this.conn.request("conversation.update", { conversation_id: this.currentId, sampling });
    this.conversations.set(ack.conversation.id, ack.conversation);
    return ack.conversation;
  }

  async send(text, files = []) {
    const content = text.trim();
    if (!content) return false;
    if (!(await this.ensureConversation())) return false;
    const conversationId = this.currentId;
    const clientId = newId();
    const pendingId = `pending-${clientId}`;
    this.thread.upsert({ id: pendingId, role: "user", content, status: "complete", pending: true, files });
    this.awaitingAnswer = true;
    this.updateBusy();
    const payload = { conversation_id: conversationId, client_message_id: clientId, content };
    if (files.length) payload.file_ids = files.map((f) => f.id);
    // Idempotent on client_message_id: a retry after a lost ack starts no second answer. A
    // busy service refuses the send before storing anything (unavailable with retry_after):
    // say so and send the same message again after retry_after, at most BUSY_RETRIES times.
    let timeouts = 0;
    let busy = 0;
    for (;;) {
      try {
        const ack = await this.conn.request("message.send", payload);
        if (this.busyRetry) this.setBusyNotice(null);
        if (this.currentId === conversationId) this.thread.upsert(ack.message, pendingId);
        break;
      } catch (err) {
        if (err.code === "timeout" && ++timeouts < 3) continue;
        const refused = err.code === "unavailable" && err.retryAfter >= 0;
        if (refused && busy++ < BUSY_RETRIES && (await this.waitBusy(err.retryAfter))) continue;
        if (this.busyRetry) this.setBusyNotice(null);
        this.thread.remove(pendingId);
        this.awaitingAnswer = false;
        this.updateBusy();
        if (this.currentId === conversationId) toast(refused ? t("busyGaveUp") : errorText(err), { kind: "error" });
        return false;
      }
    }
    this.awaitingAnswer = false;
    this.updateBusy();
    return true;
  }

  async stop() {
    if (this.busyWait) {
      this.busyWait.cancel(); // a send waiting out "busy": not sent, its text back in the composer
      return;
    }
    if (!this.currentId) return;
    try {
      await this.conn.request("message.stop", { conversation_id: this.currentId });
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
  }

  async regenerate() {
    if (!this.currentId) return;
    const last = this.thread.messages.at(-1);
    if (last?.role === "assistant") this.thread.remove(last.id); // the server replaces it
    this.awaitingAnswer = true;
    this.updateBusy();
    try {
      await this.conn.request("message.regenerate", { conversation_id: this.currentId });
    } catch (err) {
      toast(errorText(err), { kind: "error" });
      this.resync();
    }
    this.awaitingAnswer = false;
    this.updateBusy();
  }

  async rename(id, title) {
    try {
      const ack = await this.conn.request("conversation.rename", { conversation_id: id, title: title.slice(0, 200) });
      this.conversations.set(id, ack.conversation);
      if (id === this.currentId) this.view.showConversation(ack.conversation);
    } catch (err) {
      toast(errorText(err), { kind: "error" });
    }
    this.view.renderSidebar();
  }

  /** Hide at once, delete for real after the undo window. */
  remove(id) {
    const title = conversationTitle(this.conversations.get(id));
    const timer = setTimeout(() => this.flushDelete(id), UNDO_MS);
    this.pendingDeletes.set(id, timer);
    if (id === this.currentId) this.newChat();
    this.view.renderSidebar();
    toast(`${t("deleted")}: ${title}`, {
      timeout: UNDO_MS,
      action: {
        label: t("undo"),
        run: () => {
          clearTimeout(this.pendingDeletes.get(id));
          this.pendingDeletes.delete(id);
          this.view.renderSidebar();
        },
      },
    });
  }

  async flushDelete(id) {
    if (!this.pendingDeletes.has(id)) return;
    this.pendingDeletes.delete(id);
    try {
      await this.conn.request("conversation.delete", { conversation_id: id });
      this.conversations.delete(id);
      if (this.results) this.results = this.results.filter((c) => c.id !== id);
    } catch (err) {
      if (err.code !== "not_found") toast(errorText(err), { kind: "error" });
    }
    this.view.renderSidebar();
  }

  /** Leaving the page: send the deletes still waiting for their undo window. */
  flushAllDeletes() {
    for (const [id, timer] of this.pendingDeletes) {
      clearTimeout(timer);
      this.conn.socket?.emit("conversation.delete", { conversation_id: id });
    }
    this.pendingDeletes.clear();
  }
}
