// Export the open conversation as Markdown or JSON (downloaded by the browser).

import { download } from "./dom.js";
import { blobToBase64 } from "./files.js";

/** The JSON export's format (importer.py reads it back): files travel inline, base64. */
export const FORMAT = "chatbot.conversation/1";

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
  const entry = (m, level) => {
    lines.push(`${level} ${m.role === "user" ? "User" : "Assistant"}`, "");
    for (const f of m.files || []) lines.push(`- attached: ${f.name} (${f.media_type}, ${f.size} bytes)`);
    if (m.files?.length) lines.push("");
    lines.push(m.content, "");
    if (m.status && m.status !== "complete") lines.push(`_(${m.status})_`, "");
    if (m.feedback) lines.push(`_(feedback: ${m.feedback.rating}${m.feedback.comment ? ` — ${m.feedback.comment}` : ""})_`, "");
  };
  for (const m of messages.filter((x) => x.active !== false)) entry(m, "##");
  const others = messages.filter((x) => x.active === false);
  if (others.length) {
    lines.push("## Other versions", "");
    for (const m of others) {
      lines.push(`<!-- id: ${m.id}, follows: ${m.parent_id ?? "(start)"} -->`, "");
      entry(m, "###");
    }
  }
  return lines.join("\n");
}

/** Download the conversation; JSON carries its files' bytes (api: FileApi fetches them).
 * `messages`: every branch (conversation.tree: parent_id, active) where the page could read
 * it, else the messages shown. JSON: `messages` is the branch shown (what an import restores),
 * `other_versions` the rest of the tree. */
export async function exportConversation(format, conversation, messages, api) {
  const clean = messages.filter((m) => !m.pending).map((m) => ({
    id: m.id, seq: m.seq, role: m.role, content: m.content, status: m.status,
    created_at: m.created_at, model: m.model, usage: m.usage, files: m.files || undefined,
    parent_id: m.parent_id ?? null, feedback: m.feedback ?? null, active: m.active !== false,
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
    const strip = ({ active, ...m }) => m;
    const body = JSON.stringify({
      format: FORMAT, conversation, messages: clean.filter((m) => m.active).map(strip),
      other_versions: clean.filter((m) => !m.active).map(strip), files,
    }, null, 2);
    download(`${name}.json`, body, "application/json");
  } else {
    download(`${name}.md`, toMarkdown(conversation, clean), "text/markdown");
  }
}
