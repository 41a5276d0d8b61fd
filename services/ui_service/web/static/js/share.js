// The read-only page of a share link (/s/<id>): who the visitor is (guest or signed in), then
// share.get over Socket.IO, rendered like the chat (sanitised Markdown, math), no controls.

import { Auth } from "./auth.js";
import { Connection } from "./connection.js";
import { el } from "./dom.js";
import { applyTranslations, initLanguage, t } from "./i18n.js";
import { loadLibraries } from "./libs.js";
import { MarkdownRenderer } from "./markdown.js";

const $ = (id) => document.getElementById(id);

function state(text) {
  $("share-state").textContent = text;
  $("share-state").hidden = !text;
}

function render(markdown, ack) {
  document.title = `${ack.conversation.title || ack.share.title} · Chatbot`;
  $("conv-title").textContent = ack.conversation.title || ack.share.title;
  $("messages").replaceChildren(...ack.messages.map((m) => {
    const user = m.role === "user";
    const content = el("div", { class: user ? "msg-content plain" : "msg-content markdown" });
    if (user) content.textContent = m.content;
    else content.append(markdown.render(m.content, { final: true }));
    return el("article", { class: `msg msg-${user ? "user" : "assistant"}`, "data-id": m.id,
      "aria-label": user ? t("you") : t("assistant") }, el("div", { class: "msg-body" }, content));
  }));
  state("");
}

async function boot() {
  initLanguage();
  applyTranslations(document);
  const shareId = decodeURIComponent(location.pathname.split("/")[2] || "");
  const libs = await loadLibraries();
  const markdown = new MarkdownRenderer(libs);
  const config = await (await fetch("/config.json")).json();
  const auth = new Auth(config.auth);
  $("signin").addEventListener("click", () => auth.signIn());
  await auth.start().catch(() => {});
  if (!auth.kind && config.auth?.share_public_links) await auth.reader().catch(() => {});
  const askSignIn = () => {
    state(t("shareSignIn"));
    $("share-signin").hidden = !auth.canSignIn;
    document.body.dataset.ready = "true";
  };
  if (!auth.kind) {
    askSignIn();
    return;
  }
  const conn = new Connection(libs.io, auth, {
    onState: () => {},
    onConnect: async () => {
      try {
        render(markdown, await conn.request("share.get", { share_id: shareId }));
      } catch (err) {
        if (err.code === "forbidden") askSignIn();
        else state(t("shareGone"));
      }
      document.body.dataset.ready = "true";
    },
    onRefused: () => askSignIn(),
  });
  conn.open(config);
}

boot();
