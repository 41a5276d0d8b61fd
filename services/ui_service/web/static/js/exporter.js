// Export the open conversation as Markdown or JSON (downloaded by the browser).

import { download } from "./dom.js";
import { blobToBase64 } from "./files.js";

/** The JSON export's format (importer.py reads it back): files travel inline, base64. */
export const FORMAT = "chatbot.conversation/1";

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
    lines.push(`## ${m.role === "user" ? "User" : "Assistant"}`, "");
    for (const f of m.files || []) lines.push(`- attached: ${f.name} (${f.media_type}, ${f.size} bytes)`);
    if (m.files?.length) lines.push("");
    lines.push(m.content, "");
    if (m.status && m.status !== "complete") lines.push(`_(${m.status})_`, "");
  }
  return lines.join("\n");
}

/** Download the conversation; JSON carries its files' bytes (api: FileApi fetches them). */
export async function exportConversation(format, conversation, messages, api) {
  const clean = messages.filter((m) => !m.pending).map((m) => ({
    id: m.id, seq: m.seq, role: m.role, content: m.content, status: m.status,
    created_at: m.created_at, model: m.model, usage: m.usage, files: m.files || undefined,
  }));
  const name = slug(conversation.title);
  if (format === "json") {
    const files = [];
    for (const f of clean.flatMap((m) => m.files || [])) {
      if (files.some((other) => other.id === f.id)) continue;
      try {
        files.push({ ...f, data_base64: await blobToBase64(await api.blob(f.id)) });
      } catch {
        /* deleted meanwhile: the message keeps its name */
      }
    }
    const body = JSON.stringify({ format: FORMAT, conversation, messages: clean, files }, null, 2);
    download(`${name}.json`, body, "application/json");
  } else {
    download(`${name}.md`, toMarkdown(conversation, clean), "text/markdown");
  }
}
