// The open conversation's messages: one DOM node per message, Markdown re-rendered at most
// once per animation frame however many deltas arrive.

import { copyText, el, icon } from "./dom.js";
import { feedbackBar, renderFeedback } from "./feedback.js";
import { t } from "./i18n.js";
import { renderVersions, versionNav } from "./versions.js";

const STATUS_TEXT = { stopped: "stopped", interrupted: "interrupted", error: "errorAnswer" };

function order(a, b) {
  return (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER)
    || String(a.created_at || "").localeCompare(String(b.created_at || ""));
}

export class Thread {
  /** actions: regenerate(), edit(message, text), showVersion(id), rate(message, rating, comment),
   * speak(message) (optional: read aloud), fileChip(file) → the node naming a message's file */
  constructor(root, scroller, markdown, actions) {
    this.root = root;
    this.scroller = scroller;
    this.markdown = markdown;
    this.actions = actions;
    this.messages = [];
    this.nodes = new Map();
    this.dirty = new Set();
    this.frame = 0;
    this.busy = false;
  }

  /** Replace everything (a conversation opened or reloaded). */
  reset(messages) {
    this.messages = [...messages].sort(order);
    this.nodes.clear();
    this.dirty.clear();
    this.root.replaceChildren();
    for (const msg of this.messages) this.dirty.add(msg.id);
    this.flush(true);
  }

  find(id) {
    return this.messages.find((m) => m.id === id);
  }

  /** Insert or replace a message by id (or by a pending client id). */
  upsert(message, replaceId) {
    const key = replaceId ?? message.id;
    const index = this.messages.findIndex((m) => m.id === key || m.id === message.id);
    if (index >= 0) {
      const old = this.messages[index];
      if (old.id !== message.id) {
        this.nodes.get(old.id)?.remove();
        this.nodes.delete(old.id);
        this.dirty.delete(old.id);
      }
      this.messages[index] = message;
    } else {
      this.messages.push(message);
    }
    this.messages.sort(order);
    this.touch(message.id);
  }

  remove(id) {
    this.messages = this.messages.filter((m) => m.id !== id);
    this.nodes.get(id)?.remove();
    this.nodes.delete(id);
    this.refreshActions();
  }

  /** Mark a message for re-rendering on the next animation frame. */
  touch(id) {
    this.dirty.add(id);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush(false));
  }

  setBusy(busy) {
    this.busy = busy;
    this.root.setAttribute("aria-busy", busy ? "true" : "false");
    this.refreshActions();
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  flush(forceScroll) {
    this.frame = 0;
    const stick = forceScroll || this.nearBottom();
    for (const id of this.dirty) {
      const msg = this.find(id);
      if (msg) this.renderMessage(msg);
    }
    this.dirty.clear();
    this.placeNodes();
    this.refreshActions();
    if (stick) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  placeNodes() {
    let previous = null;
    for (const msg of this.messages) {
      const node = this.nodes.get(msg.id);
      if (!node) continue;
      const expected = previous ? previous.nextSibling : this.root.firstChild;
      if (node !== expected) {
        if (previous) previous.after(node);
        else this.root.prepend(node);
      }
      previous = node;
    }
  }

  renderMessage(msg) {
    let node = this.nodes.get(msg.id);
    if (!node) {
      node = this.createNode(msg);
      this.nodes.set(msg.id, node);
    }
    const content = node.querySelector(".msg-content");
    const streaming = msg.status === "streaming";
    node.classList.toggle("streaming", streaming);
    node.classList.toggle("pending", Boolean(msg.pending));
    if (msg.role === "assistant") {
      if (streaming && !msg.content) {
        content.replaceChildren(el("span", { class: "typing", "aria-label": t("thinking") },
          el("span"), el("span"), el("span")));
      } else {
        content.replaceChildren(this.markdown.render(msg.content, { final: !streaming }));
      }
    } else {
      content.textContent = msg.content;
    }
    const files = node.querySelector(".msg-files");
    const named = (msg.files || []).filter((f) => f && f.name);
    files.hidden = !named.length;
    files.replaceChildren(...named.map((f) => this.actions.fileChip?.(f) ?? f.name));
    const when = Date.parse(msg.created_at || "");
    if (when) node.title = new Date(when).toLocaleString(document.documentElement.lang);
    const status = node.querySelector(".msg-status");
    const statusKey = STATUS_TEXT[msg.status];
    status.hidden = !statusKey;
    status.className = `msg-status status-${msg.status}`;
    status.textContent = statusKey ? (msg.error?.message ? `${t(statusKey)}: ${msg.error.message}` : t(statusKey)) : "";
    renderVersions(node, msg);
    if (msg.role === "assistant") renderFeedback(node, msg);
  }

  createNode(msg) {
    const isUser = msg.role === "user";
    const actions = el("div", { class: "msg-actions" },
      el("button", {
        type: "button", class: "icon-btn small act-copy", "aria-label": t("copy"), title: t("copy"),
        onclick: async (event) => {
          const button = event.currentTarget;
          const current = this.find(node.dataset.id);
          if (current && await copyText(current.content)) {
            button.replaceChildren(icon("check"));
            setTimeout(() => button.replaceChildren(icon("copy")), 1500);
          }
        },
      }, icon("copy")),
      isUser
        ? el("button", {
          type: "button", class: "icon-btn small act-edit", "aria-label": t("edit"), title: t("edit"),
          onclick: () => this.startEdit(node),
        }, icon("pencil"))
        : el("button", {
          type: "button", class: "icon-btn small act-regen", "aria-label": t("regenerate"),
          title: t("regenerate"), onclick: () => this.actions.regenerate(),
        }, icon("refresh")),
      this.actions.speak && !isUser ? el("button", {
        type: "button", class: "icon-btn small act-speak", "aria-label": t("readAloud"),
        title: t("readAloud"), onclick: () => this.actions.speak(this.find(node.dataset.id)),
      }, icon("speaker")) : null);
    actions.prepend(versionNav((id) => this.actions.showVersion(id), () => this.find(node.dataset.id)));
    if (!isUser) {
      actions.append(feedbackBar(() => this.find(node.dataset.id),
        (message, rating, comment) => this.actions.rate(message, rating, comment)));
    }
    const node = el("article", {
      class: `msg msg-${isUser ? "user" : "assistant"}`, "data-id": msg.id,
      "aria-label": isUser ? t("you") : t("assistant"),
    },
    el("div", { class: "msg-body" },
      el("div", { class: "msg-files", hidden: true }),
      el("div", { class: isUser ? "msg-content plain" : "msg-content markdown" }),
      el("div", { class: "msg-status", hidden: true }),
      actions));
    return node;
  }

  /** Any stored user message can be edited (a new version), only the last answer
   * regenerated; neither while an answer streams. */
  refreshActions() {
    const last = this.messages[this.messages.length - 1];
    for (const [id, node] of this.nodes) {
      const msg = this.find(id);
      const edit = node.querySelector(".act-edit");
      if (edit) edit.hidden = this.busy || !msg || Boolean(msg.pending);
      for (const b of node.querySelectorAll(".versions button")) b.disabled = this.busy;
      const regen = node.querySelector(".act-regen");
      if (regen) regen.hidden = this.busy || !last || last.id !== id;
    }
  }

  startEdit(node) {
    const msg = this.find(node.dataset.id);
    if (!msg || node.classList.contains("editing")) return;
    const area = el("textarea", { class: "edit-area", rows: "3", maxlength: "32000", "aria-label": t("edit") });
    area.value = msg.content;
    const close = () => {
      node.classList.remove("editing");
      box.remove();
    };
    const submit = () => {
      const text = area.value.trim();
      close();
      if (text) this.actions.edit(msg, text);
    };
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
      if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); close(); }
    });
    const box = el("div", { class: "edit-box" }, area,
      el("div", { class: "edit-buttons" },
        el("button", { type: "button", class: "btn ghost", text: t("cancel"), onclick: close }),
        el("button", { type: "button", class: "btn primary", text: t("saveAndSend"), onclick: submit })));
    node.classList.add("editing");
    node.querySelector(".msg-body").append(box);
    area.focus();
  }
}
