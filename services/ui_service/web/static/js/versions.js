// Versions of a message: edit any user message (the conversation continues from the new
// version), browse the versions (previous/next), and export every branch.

import { el, icon, toast } from "./dom.js";
import { t } from "./i18n.js";

const PAGE = 500;
const MAX_PAGES = 40;

function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

/** "‹ 2 / 3 ›" under a message with several versions (hidden otherwise). */
export function versionNav(show, current) {
  const go = (step) => {
    const msg = current();
    const ids = msg?.versions || [];
    const target = ids[ids.indexOf(msg.id) + step];
    if (target) show(target);
  };
  return el("div", { class: "versions", hidden: true },
    el("button", { type: "button", class: "icon-btn small ver-prev", "aria-label": t("previousVersion"),
      title: t("previousVersion"), onclick: () => go(-1) }, icon("prev")),
    el("span", { class: "ver-label" }),
    el("button", { type: "button", class: "icon-btn small ver-next", "aria-label": t("nextVersion"),
      title: t("nextVersion"), onclick: () => go(1) }, icon("next")));
}

export function renderVersions(node, msg) {
  const nav = node.querySelector(".versions");
  const ids = msg.versions || [];
  nav.hidden = ids.length < 2;
  if (nav.hidden) return;
  const at = ids.indexOf(msg.id);
  nav.querySelector(".ver-label").textContent = t("versionOf").replace("{i}", String(at + 1)).replace("{n}", String(ids.length));
  nav.querySelector(".ver-prev").toggleAttribute("data-edge", at <= 0);
  nav.querySelector(".ver-next").toggleAttribute("data-edge", at >= ids.length - 1);
}

/** message.edit: a new version of `msg`; the messages after it leave the view at once. */
export async function editMessage(chat, msg, text) {
  const content = text.trim();
  const cid = chat.currentId;
  if (!content || !cid || msg.pending) return;
  const clientId = newId();
  const pendingId = `pending-${clientId}`;
  const kept = chat.thread.messages.filter((m) => (m.seq ?? Infinity) < msg.seq && m.id !== msg.id);
  chat.thread.reset([...kept, { id: pendingId, role: "user", content, status: "complete", pending: true }]);
  chat.awaitingAnswer = true;
  chat.updateBusy();
  const payload = { conversation_id: cid, message_id: msg.id, client_message_id: clientId, content };
  if (msg.files?.length) payload.file_ids = msg.files.map((f) => f.id); // the version keeps them
  for (let attempt = 1; ; attempt++) {
    try {
      const ack = await chat.conn.request("message.edit", payload);
      if (chat.currentId === cid) chat.thread.upsert(ack.message, pendingId);
      break;
    } catch (err) {
      if (err.code === "timeout" && attempt < 3) continue;
      toast(err?.message || t("sendFailed"), { kind: "error" });
      break;
    }
  }
  chat.awaitingAnswer = false;
  chat.updateBusy();
  if (chat.currentId === cid) await chat.open(cid, { push: false }); // the versions, the answer
}

/** conversation.branch: show another version (and what followed it). */
export async function showVersion(chat, messageId) {
  const cid = chat.currentId;
  if (!cid) return;
  try {
    await chat.conn.request("conversation.branch", { conversation_id: cid, message_id: messageId });
  } catch (err) {
    toast(err?.message || t("sendFailed"), { kind: "error" });
  }
  if (chat.currentId === cid) await chat.open(cid, { push: false });
}

/** Every message of every branch (conversation.tree, paged), for exports. */
export async function loadTree(conn, cid) {
  const messages = [];
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const after = messages.at(-1)?.seq;
    const ack = await conn.request("conversation.tree", after ? { conversation_id: cid, after_seq: after, limit: PAGE } : { conversation_id: cid, limit: PAGE });
    if (!ack.messages.length) break;
    messages.push(...ack.messages);
  }
  return messages;
}

/** A user message stored by another tab that does not follow the last message shown: an
 * edit of an earlier one (its branch replaced the rest). */
export function branchedElsewhere(messages, message) {
  const shown = messages.filter((m) => !m.pending && m.seq);
  const last = shown.at(-1);
  return Boolean(last && message.parent_id !== last.id
    && !shown.some((m) => m.id === message.id));
}

/** conversation.updated after another tab switched versions: the count of the active branch
 * no longer matches what is shown (and no answer is on its way here). */
export function otherBranchShown(messages, conversation) {
  if (messages.some((m) => m.pending || m.status === "streaming")) return false;
  return typeof conversation.message_count === "number"
    && conversation.message_count !== messages.filter((m) => m.seq).length;
}
