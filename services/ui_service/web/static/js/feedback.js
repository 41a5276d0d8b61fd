// Feedback on answers: "Good response" / "Bad response" with an optional comment
// (message.feedback); pressing the chosen one again takes it back.

import { el, icon, toast } from "./dom.js";
import { t } from "./i18n.js";

/** The two buttons and the comment box of an answer; `rate(message, rating|null, comment)`. */
export function feedbackBar(current, rate) {
  const bar = el("div", { class: "feedback" });
  const comment = el("textarea", { class: "feedback-comment", rows: "2", maxlength: "2000",
    "aria-label": t("feedbackComment"), placeholder: t("feedbackComment") });
  const box = el("div", { class: "feedback-box", hidden: true }, comment,
    el("div", { class: "edit-buttons" },
      el("button", { type: "button", class: "btn ghost", text: t("cancel"), onclick: () => { box.hidden = true; } }),
      el("button", { type: "button", class: "btn primary feedback-send", text: t("sendFeedback"),
        onclick: () => { box.hidden = true; rate(current(), "bad", comment.value.trim()); } })));
  const press = (rating) => {
    const msg = current();
    if (!msg) return;
    if (msg.feedback?.rating === rating) {
      rate(msg, null, "");
    } else if (rating === "bad") {
      box.hidden = false;
      comment.value = msg.feedback?.comment || "";
      comment.focus();
    } else {
      rate(msg, "good", "");
    }
  };
  bar.append(
    el("button", { type: "button", class: "icon-btn small fb-good", "aria-label": t("goodResponse"),
      title: t("goodResponse"), "aria-pressed": "false", onclick: () => press("good") }, icon("thumbUp")),
    el("button", { type: "button", class: "icon-btn small fb-bad", "aria-label": t("badResponse"),
      title: t("badResponse"), "aria-pressed": "false", onclick: () => press("bad") }, icon("thumbDown")),
    box);
  return bar;
}

export function renderFeedback(node, msg) {
  const bar = node.querySelector(".feedback");
  if (!bar) return;
  bar.hidden = msg.status === "streaming" || Boolean(msg.pending) || !msg.seq;
  const rating = msg.feedback?.rating;
  bar.querySelector(".fb-good").setAttribute("aria-pressed", String(rating === "good"));
  bar.querySelector(".fb-bad").setAttribute("aria-pressed", String(rating === "bad"));
}

/** message.feedback; the stored answer comes back. */
export async function rateMessage(chat, msg, rating, comment) {
  if (!chat.currentId || !msg) return;
  try {
    const ack = await chat.conn.request("message.feedback", {
      conversation_id: chat.currentId, message_id: msg.id, rating,
      ...(rating && comment ? { comment } : {}),
    });
    const shown = chat.thread.find(msg.id);
    if (shown) chat.thread.upsert({ ...shown, feedback: ack.message.feedback });
  } catch (err) {
    toast(err?.message || t("sendFailed"), { kind: "error" });
  }
}
