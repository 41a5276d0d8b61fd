// The conversations sidebar: grouped by recency, search results, inline rename, delete.

import { el, icon } from "./dom.js";
import { t } from "./i18n.js";

const DAY = 24 * 3600 * 1000;

function groupOf(updatedAt, now) {
  const startOfToday = new Date(now);
  startOfToday.setHours(0, 0, 0, 0);
  const time = Date.parse(updatedAt) || 0;
  if (time >= startOfToday.getTime()) return "today";
  if (time >= startOfToday.getTime() - DAY) return "yesterday";
  if (time >= startOfToday.getTime() - 7 * DAY) return "last7";
  if (time >= startOfToday.getTime() - 30 * DAY) return "last30";
  return "older";
}

// What the services call a conversation with no title yet.
const UNTITLED = new Set(["", "New conversation"]);

export function conversationTitle(conv) {
  const title = (conv?.title || "").trim();
  return UNTITLED.has(title) ? t("untitled") : title;
}

export class Sidebar {
  /** callbacks: select(id), rename(id, title), remove(id), loadMore() */
  constructor(root, callbacks) {
    this.root = root;
    this.cb = callbacks;
    this.editing = null;
  }

  /** conversations: newest first; results: null or the search hits; hasMore: show "load more" */
  render({ conversations, results, currentId, hasMore }) {
    if (this.editing) return; // do not throw away an open rename field
    const list = results ?? conversations;
    // Only the active item changed (a click): update in place so a double-click still lands.
    const signature = JSON.stringify([Boolean(results), hasMore, new Date().toDateString(),
      list.map((c) => [c.id, c.title, c.updated_at])]);
    if (signature === this.signature) {
      for (const li of this.root.querySelectorAll(".conv")) {
        const active = li.dataset.id === currentId;
        li.classList.toggle("active", active);
        const link = li.querySelector(".conv-link");
        if (active) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
      return;
    }
    this.signature = signature;
    const children = [];
    if (results) {
      children.push(el("h2", { class: "group-title", text: t("results") }));
      if (!results.length) children.push(el("p", { class: "empty", text: t("noResults") }));
      children.push(this.list(results, currentId));
    } else if (!list.length) {
      children.push(el("p", { class: "empty", text: t("noConversations") }));
    } else {
      const now = Date.now();
      const groups = new Map();
      for (const conv of list) {
        const key = groupOf(conv.updated_at, now);
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(conv);
      }
      for (const [key, convs] of groups) {
        const id = `group-${key}`;
        children.push(el("h2", { class: "group-title", id, text: t(key) }));
        children.push(this.list(convs, currentId, id));
      }
      if (hasMore) {
        children.push(el("button", {
          type: "button", class: "load-more", text: t("loadMore"), onclick: () => this.cb.loadMore(),
        }));
      }
    }
    this.root.replaceChildren(...children);
  }

  list(convs, currentId, labelledBy) {
    return el("ul", { class: "conv-group", "aria-labelledby": labelledBy },
      ...convs.map((conv) => this.item(conv, conv.id === currentId)));
  }

  item(conv, active) {
    const title = conversationTitle(conv);
    const link = el("a", {
      class: "conv-link", href: `/c/${encodeURIComponent(conv.id)}`, title,
      "aria-current": active ? "page" : null,
      onclick: (event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        this.cb.select(conv.id);
      },
      ondblclick: (event) => { event.preventDefault(); this.startRename(li, conv); },
    }, el("span", { class: "conv-name", text: title }));
    const actions = el("div", { class: "conv-actions" },
      el("button", {
        type: "button", class: "icon-btn small", "aria-label": `${t("rename")}: ${title}`,
        title: t("rename"), onclick: () => this.startRename(li, conv),
      }, icon("pencil")),
      el("button", {
        type: "button", class: "icon-btn small danger", "aria-label": `${t("delete")}: ${title}`,
        title: t("delete"), onclick: () => this.cb.remove(conv.id),
      }, icon("trash")));
    const li = el("li", { class: active ? "conv active" : "conv", "data-id": conv.id }, link, actions);
    return li;
  }

  /** Forget the rendered state (language switch): the next render rebuilds everything. */
  invalidate() {
    this.signature = null;
  }

  startRename(li, conv) {
    const input = el("input", {
      class: "rename-input", type: "text", maxlength: "200", "aria-label": t("rename"),
    });
    input.value = conv.title || "";
    this.editing = conv.id;
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      this.editing = null;
      this.signature = null;
      const title = input.value.trim();
      if (save && title && title !== conv.title) this.cb.rename(conv.id, title);
      else this.cb.refresh();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); finish(true); }
      if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true));
    li.replaceChildren(input);
    li.classList.add("editing");
    input.focus();
    input.select();
  }
}
