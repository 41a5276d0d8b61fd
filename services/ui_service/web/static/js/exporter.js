// Export the open conversation as Markdown or JSON (downloaded by the browser).

import { download } from "./dom.js";

function slug(title) {
  const s = String(title || "conversation").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "");
  return s.slice(0, 60) || "conversation";
}

export function toMarkdown(conversation, messages) {
  const lines = [`# ${conversation.title || "Conversation"}`, ""];
  const meta = [`- id: ${conversation.id}`, `- created: ${conversation.created_at}`];
  if (conversation.model) meta.push(`- model: ${conversation.model}`);
  lines.push(...meta, "");
  if (conversation.system_prompt) lines.push("## System prompt", "", conversation.system_prompt, "");
  for (const m of messages) {
    lines.push(`## ${m.role === "user" ? "User" : "Assistant"}`, "", m.content, "");
    if (m.status && m.status !== "complete") lines.push(`_(${m.status})_`, "");
  }
  return lines.join("\n");
}

export function exportConversation(format, conversation, messages) {
  const clean = messages.filter((m) => !m.pending).map((m) => ({
    id: m.id, seq: m.seq, role: m.role, content: m.content, status: m.status,
    created_at: m.created_at, model: m.model, usage: m.usage,
  }));
  const name = slug(conversation.title);
  if (format === "json") {
    const body = JSON.stringify({ conversation, messages: clean }, null, 2);
    download(`${name}.json`, body, "application/json");
  } else {
    download(`${name}.md`, toMarkdown(conversation, clean), "text/markdown");
  }
}
