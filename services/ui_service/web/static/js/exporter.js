// Export the open conversation as Markdown or JSON (downloaded by the browser).

import { download } from "./dom.js";

function slug(title) {
  const s = String(title || "conversation").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "");
  return s.slice(0, 60) || "conversation";
}

/** Markdown: the branch shown, then the other versions (each naming the message it follows). */
export function toMarkdown(conversation, messages) {
  const lines = [`# ${conversation.title || "Conversation"}`, ""];
  const meta = [`- id: ${conversation.id}`, `- created: ${conversation.created_at}`];
  if (conversation.model) meta.push(`- model: ${conversation.model}`);
  lines.push(...meta, "");
  if (conversation.system_prompt) lines.push("## System prompt", "", conversation.system_prompt, "");
  const shown = messages.filter((m) => m.active !== false);
  const others = messages.filter((m) => m.active === false);
  const entry = (m, level) => {
    lines.push(`${level} ${m.role === "user" ? "User" : "Assistant"}`, "", m.content, "");
    if (m.status && m.status !== "complete") lines.push(`_(${m.status})_`, "");
    if (m.feedback) lines.push(`_(feedback: ${m.feedback.rating}${m.feedback.comment ? ` — ${m.feedback.comment}` : ""})_`, "");
  };
  for (const m of shown) entry(m, "##");
  if (others.length) {
    lines.push("## Other versions", "");
    for (const m of others) {
      lines.push(`<!-- id: ${m.id}, follows: ${m.parent_id ?? "(start)"} -->`, "");
      entry(m, "###");
    }
  }
  return lines.join("\n");
}

/** `messages`: every branch (conversation.tree: parent_id, active) where the page could read
 * it, else the messages shown. */
export function exportConversation(format, conversation, messages) {
  const clean = messages.filter((m) => !m.pending).map((m) => ({
    id: m.id, seq: m.seq, role: m.role, content: m.content, status: m.status,
    created_at: m.created_at, model: m.model, usage: m.usage,
    parent_id: m.parent_id ?? null, active: m.active !== false, feedback: m.feedback ?? null,
  }));
  const name = slug(conversation.title);
  if (format === "json") {
    const body = JSON.stringify({ conversation, messages: clean }, null, 2);
    download(`${name}.json`, body, "application/json");
  } else {
    download(`${name}.md`, toMarkdown(conversation, clean), "text/markdown");
  }
}
