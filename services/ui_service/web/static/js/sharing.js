// The "Share" dialog of the chat page: make a read-only link to a snapshot of the open
// conversation (optional expiry), copy it, list and revoke the conversation's links.

import { copyText, el, toast } from "./dom.js";
import { t } from "./i18n.js";

const EXPIRY = [["shareNever", ""], ["shareDay", 86400], ["shareWeek", 7 * 86400], ["shareMonth", 30 * 86400]];

function linkOf(share) {
  return `${location.origin}/s/${encodeURIComponent(share.id)}`;
}

export class ShareDialog {
  /** conn: the Connection; accountsOn: links are for signed-in users unless public. */
  constructor(dialog, conn, accountsOn) {
    this.dialog = dialog;
    this.conn = conn;
    this.accountsOn = accountsOn;
    this.conversationId = null;
  }

  async open(conversationId) {
    this.conversationId = conversationId;
    const expiry = el("select", { id: "share-expiry" },
      ...EXPIRY.map(([key, value]) => el("option", { value: String(value), text: t(key) })));
    const list = el("ul", { class: "share-list", "aria-label": t("shareLinks") });
    const create = el("button", { type: "button", class: "btn primary", text: t("createLink"),
      onclick: () => this.create(expiry.value, list) });
    this.dialog.replaceChildren(
      el("h2", { id: "share-dialog-title", text: t("shareTitle") }),
      el("p", { class: "share-text", text: t(this.accountsOn ? "shareTextSignedIn" : "shareText") }),
      el("label", { for: "share-expiry", text: t("shareExpiry") }), expiry,
      el("div", { class: "edit-buttons" },
        el("button", { type: "button", class: "btn ghost", text: t("close"), onclick: () => this.dialog.close() }),
        create),
      list);
    if (!this.dialog.open) this.dialog.showModal();
    await this.refresh(list);
  }

  async refresh(list) {
    try {
      const ack = await this.conn.request("share.list", { conversation_id: this.conversationId });
      list.replaceChildren(...ack.shares.map((s) => this.row(s, list)));
    } catch (err) {
      toast(err?.message || t("sendFailed"), { kind: "error" });
    }
  }

  row(share, list) {
    const link = linkOf(share);
    const expires = share.expires_at ? ` · ${new Date(share.expires_at).toLocaleString(document.documentElement.lang)}` : "";
    return el("li", { class: "share-row", "data-id": share.id },
      el("input", { class: "share-link", readonly: true, value: link, "aria-label": t("copyLink") }),
      el("span", { class: "share-meta", text: `${share.message_count} · ${t("shareExpiry")}: ${expires ? expires.slice(3) : t("shareNever")}` }),
      el("button", { type: "button", class: "btn ghost share-copy", text: t("copyLink"),
        onclick: async () => { if (await copyText(link)) toast(t("copied")); } }),
      el("button", { type: "button", class: "btn ghost share-revoke", text: t("revokeLink"),
        onclick: () => this.revoke(share, list) }));
  }

  async create(expiresIn, list) {
    try {
      const payload = { conversation_id: this.conversationId };
      if (expiresIn) payload.expires_in = Number(expiresIn);
      const ack = await this.conn.request("share.create", payload);
      await this.refresh(list);
      const field = list.querySelector(`[data-id="${CSS.escape(ack.share.id)}"] .share-link`);
      field?.focus();
      field?.select();
    } catch (err) {
      toast(err?.message || t("sendFailed"), { kind: "error" });
    }
  }

  async revoke(share, list) {
    try {
      await this.conn.request("share.revoke", { share_id: share.id });
      toast(t("linkRevoked"));
    } catch (err) {
      toast(err?.message || t("sendFailed"), { kind: "error" });
    }
    await this.refresh(list);
  }
}
