// Boot the chat page: libraries, language, connection, and the wiring of the page's controls.

import "./strings_files.js";
import { Attachments, fileChip } from "./attachments.js";
import { Auth } from "./auth.js";
import { Chat } from "./chat.js";
import { Connection } from "./connection.js";
import { fillIcons, toast } from "./dom.js";
import { exportConversation } from "./exporter.js";
import { rateMessage } from "./feedback.js";
import { FileApi } from "./files.js";
import { applyTranslations, initLanguage, language, setLanguage, t } from "./i18n.js";
import { loadLibraries } from "./libs.js";
import { MarkdownRenderer } from "./markdown.js";
import { SettingsPanel } from "./settings_panel.js";
import { ShareDialog } from "./sharing.js";
import { Sidebar, conversationTitle } from "./sidebar.js";
import { Speech } from "./speech.js";
import { Thread } from "./thread.js";
import { editMessage, loadTree, showVersion } from "./versions.js";

const $ = (id) => document.getElementById(id);

function conversationIdFromPath() {
  const match = /^\/c\/([^/]+)$/.exec(location.pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

function autoGrow(area) {
  area.style.height = "auto";
  area.style.height = `${Math.min(area.scrollHeight, 240)}px`;
}

async function loadModels(select) {
  select.replaceChildren(new Option(t("defaultModel"), ""));
  try {
    const r = await fetch("/models.json");
    if (!r.ok) throw new Error(String(r.status));
    for (const model of (await r.json()).models) select.append(new Option(model.id, model.id));
  } catch {
    /* the default model still works; the picker offers only it */
  }
}

/** The sign-in screen (nothing else works before sign-in), with why we are here. */
function showSignIn(auth, reason) {
  $("app").hidden = true;
  $("signin-screen").hidden = false;
  const error = $("signin-error");
  error.hidden = !reason;
  error.textContent = reason || "";
  $("signin").hidden = !auth.canSignIn;
  $("signin").focus();
  document.body.dataset.ready = "true";
}

/** The top bar: "Sign in" for guests where sign-in exists, else the user's menu. */
function showIdentity(auth) {
  const signedIn = auth.kind === "oidc";
  $("signin-top").hidden = signedIn || !auth.canSignIn;
  $("user-wrap").hidden = !signedIn;
  if (!signedIn) return;
  $("user-name").textContent = auth.user.name;
  $("user-wrap").querySelector(".user-initial").textContent = (auth.user.name || "?")[0].toUpperCase();
  $("user-btn").setAttribute("aria-label", auth.user.name);
  $("admin-link").hidden = !auth.user.admin;
  const btn = $("user-btn");
  const menu = $("user-menu");
  const toggle = (open) => { menu.hidden = !open; btn.setAttribute("aria-expanded", String(open)); };
  btn.addEventListener("click", (event) => { event.stopPropagation(); toggle(menu.hidden); });
  document.addEventListener("click", () => toggle(false));
  menu.addEventListener("keydown", (event) => { if (event.key === "Escape") { toggle(false); btn.focus(); } });
}

async function boot() {
  initLanguage();
  applyTranslations(document);
  fillIcons(document, {
    "open-sidebar": "menu", "close-sidebar": "close", "export-btn": "download", send: "send",
    "share-btn": "share", dictate: "mic",
    stop: "stop", "to-bottom": "down", "rename-title": "pencil", "conv-settings-btn": "sliders",
  });
  let libs;
  try {
    libs = await loadLibraries();
  } catch (err) {
    $("boot-hint").hidden = false;
    throw err;
  }
  let conn;
  const config = await (await fetch("/config.json")).json();
  const auth = new Auth(config.auth);
  for (const id of ["signin", "signin-top"]) {
    $(id).addEventListener("click", () => auth.signIn().catch((err) => toast(String(err.message || err), { kind: "error" })));
  }
  $("signout").addEventListener("click", () => { conn?.close(); auth.signOut(); });
  await auth.start();
  if (auth.kind && location.pathname.startsWith("/s/")) {
    location.replace(location.pathname); // back from signing in to read a share link
    return;
  }
  if (!auth.kind) {
    $("boot").remove();
    showSignIn(auth, auth.error?.message);
    return;
  }
  showIdentity(auth);
  const markdown = new MarkdownRenderer(libs);
  const files = new FileApi(config.chat_url, auth);
  const input = $("input");
  const speech = new Speech();
  speech.bindDictation($("dictate"), input, () => {
    autoGrow(input);
    $("send").disabled = !input.value.trim();
  });
  const app = $("app");
  let chat;

  const setConnState = (state) => {
    const conn = $("conn");
    conn.dataset.state = state;
    conn.querySelector(".conn-text").textContent = t(state === "offline" ? "offline" : state);
    app.dataset.conn = state;
  };

  const closeSidebar = () => { app.classList.remove("sidebar-open"); $("scrim").hidden = true; };
  const sidebar = new Sidebar($("conv-list"), {
    select: (id) => { closeSidebar(); chat.open(id); },
    rename: (id, title) => chat.rename(id, title),
    remove: (id) => chat.remove(id),
    loadMore: () => chat.loadMore(),
    refresh: () => view.renderSidebar(),
  });

  const view = {
    thread: new Thread($("messages"), $("thread"), markdown, {
      regenerate: () => chat.regenerate(),
      edit: (message, text) => editMessage(chat, message, text),
      showVersion: (id) => showVersion(chat, id),
      rate: (message, rating, comment) => rateMessage(chat, message, rating, comment),
      speak: speech.canSpeak ? (message) => speech.speak(message) : undefined,
      fileChip: (file) => fileChip(file, files),
    }),
    renderSidebar: () => sidebar.render(chat.sidebarState()),
    showConversation: (conv) => {
      $("welcome").hidden = Boolean(conv);
      $("conv-title").textContent = conv ? conversationTitle(conv) : t("newChat");
      document.title = conv ? `${conversationTitle(conv)} · Chatbot` : "Chatbot";
      const badge = $("model-badge");
      badge.hidden = !conv?.model;
      badge.textContent = conv?.model || "";
      $("export-btn").disabled = !conv;
      $("share-btn").disabled = !conv;
      $("rename-title").hidden = !conv;
    },
    setBusy: (value) => {
      const busy = Boolean(value);
      view.thread.setBusy(busy);
      $("send").hidden = busy;
      $("stop").hidden = !busy;
      app.classList.toggle("busy", busy);
    },
    newChatOptions: () => {
      const options = {};
      const prompt = $("system-prompt").value.trim();
      const model = $("model-select").value;
      if (prompt) options.system_prompt = prompt;
      if (model) options.model = model;
      const sampling = settings.forNewChat();
      if (sampling) options.sampling = sampling;
      return options;
    },
  };

  conn = new Connection(libs.io, auth, {
    onState: setConnState,
    onConnect: () => chat.connected(),
    onRefused: (code) => {
      conn.close();
      showSignIn(auth, t(code === "forbidden" ? "accountDisabled" : "signedOut"));
    },
  });
  chat = new Chat(conn, view);
  const shareDialog = new ShareDialog($("share-dialog"), conn, Boolean(config.auth?.oidc));
  $("share-btn").addEventListener("click", () => { if (chat.currentId) shareDialog.open(chat.currentId); });
  const attachments = new Attachments($("attachments"), files, () => chat.ensureConversation());
  attachments.bind($("attach"), $("file-input"), $("main"), input);
  const settings = new SettingsPanel($("conv-settings-btn"), $("conv-settings"), {
    save: (sampling) => chat.updateSettings(sampling),
    current: () => chat.current,
  });
  $("boot").remove();
  view.showConversation(null);
  setConnState("connecting");
  conn.open(config);
  chat.bindEvents();
  const initial = conversationIdFromPath();
  if (initial) chat.currentId = initial; // opened on connect
  loadModels($("model-select"));

  // Composer: Enter sends, Shift+Enter is a new line, Esc stops the answer.
  const submit = async () => {
    const text = input.value;
    if (!text.trim() || app.classList.contains("busy")) return;
    input.value = "";
    autoGrow(input);
    $("send").disabled = true;
    const attached = await attachments.ready();
    const ok = await chat.send(text, attached);
    if (ok) attachments.clear();
    if (!ok && !input.value) input.value = text;
    $("send").disabled = !input.value.trim();
  };
  $("composer").addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  input.addEventListener("input", () => { autoGrow(input); $("send").disabled = !input.value.trim(); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && app.classList.contains("sidebar-open")) {
      event.preventDefault();
      closeSidebar();
      $("open-sidebar").focus();
    } else if (event.key === "Escape" && app.classList.contains("busy")) {
      event.preventDefault();
      chat.stop();
    }
  });
  $("stop").addEventListener("click", () => chat.stop());

  // Sidebar controls.
  $("new-chat").addEventListener("click", () => {
    closeSidebar();
    chat.newChat();
    attachments.discard();
    settings.reset();
    input.focus();
  });
  $("import-btn").addEventListener("click", () => $("import-input").click());
  $("import-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    try {
      const conversation = await files.importConversation(await file.text());
      await chat.loadList();
      closeSidebar();
      await chat.open(conversation.id);
      toast(t("imported"));
    } catch (err) {
      toast(`${t("importFailed")}: ${err.message || err}`, { kind: "error", timeout: 8000 });
    }
  });
  let searchTimer = 0;
  $("search").addEventListener("input", (event) => {
    clearTimeout(searchTimer);
    const query = event.target.value;
    searchTimer = setTimeout(() => chat.search(query), 180);
  });
  $("open-sidebar").addEventListener("click", () => { app.classList.add("sidebar-open"); $("scrim").hidden = false; });
  $("close-sidebar").addEventListener("click", closeSidebar);
  $("scrim").addEventListener("click", closeSidebar);
  const lang = $("lang");
  lang.value = language();
  lang.addEventListener("change", () => {
    setLanguage(lang.value);
    fillIcons(document, {});
    view.showConversation(chat.current);
    sidebar.invalidate();
    view.renderSidebar();
    view.thread.reset(view.thread.messages);
    setConnState($("conn").dataset.state);
    loadModels($("model-select"));
  });

  // Export menu.
  const exportBtn = $("export-btn");
  const exportMenu = $("export-menu");
  const toggleMenu = (open) => {
    exportMenu.hidden = !open;
    exportBtn.setAttribute("aria-expanded", String(open));
    if (open) exportMenu.querySelector("button").focus();
  };
  exportBtn.addEventListener("click", (event) => { event.stopPropagation(); toggleMenu(exportMenu.hidden); });
  document.addEventListener("click", () => toggleMenu(false));
  exportMenu.addEventListener("keydown", (event) => { if (event.key === "Escape") { toggleMenu(false); exportBtn.focus(); } });
  for (const [id, format] of [["export-md", "markdown"], ["export-json", "json"]]) {
    $(id).addEventListener("click", () => {
      if (!chat.current) return;
      const conv = chat.current;
      loadTree(chat.conn, conv.id).catch(() => null).then((every) => exportConversation(
        format, conv, every?.length ? every : view.thread.messages, files,
      )).catch((err) => toast(String(err.message || err), { kind: "error" }));
    });
  }

  // Rename from the header: the title becomes a field (Enter saves, Esc cancels).
  $("rename-title").addEventListener("click", () => {
    const conv = chat.current;
    const title = $("conv-title");
    if (!conv || title.hidden) return;
    const field = document.createElement("input");
    field.className = "rename-input title-input";
    field.maxLength = 200;
    field.value = conv.title || "";
    field.setAttribute("aria-label", t("rename"));
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      const value = field.value.trim();
      field.remove();
      title.hidden = false;
      $("rename-title").hidden = false;
      if (save && value && value !== conv.title) chat.rename(conv.id, value);
    };
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); finish(true); }
      if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); finish(false); }
    });
    field.addEventListener("blur", () => finish(true));
    title.hidden = true;
    $("rename-title").hidden = true;
    title.after(field);
    field.focus();
    field.select();
  });

  // Suggestions fill the composer; the user may edit before sending.
  for (const button of document.querySelectorAll(".suggestion")) {
    button.addEventListener("click", () => {
      input.value = button.textContent;
      autoGrow(input);
      $("send").disabled = false;
      input.focus();
    });
  }

  // A "latest message" button while the user reads further up.
  const thread = $("thread");
  const toBottom = $("to-bottom");
  const updateToBottom = () => { toBottom.hidden = view.thread.nearBottom(); };
  thread.addEventListener("scroll", updateToBottom, { passive: true });
  new ResizeObserver(updateToBottom).observe($("messages"));
  toBottom.addEventListener("click", () => {
    thread.scrollTo({ top: thread.scrollHeight, behavior: "smooth" });
  });

  window.addEventListener("popstate", () => {
    const id = conversationIdFromPath();
    if (id) chat.open(id, { push: false });
    else chat.newChat({ push: false });
  });
  window.addEventListener("pagehide", () => chat.flushAllDeletes());
  input.focus();
  document.body.dataset.ready = "true";
}

boot().catch((err) => {
  console.error(err);
  const hint = document.getElementById("boot-hint");
  if (hint && document.getElementById("boot")) hint.hidden = false;
  else toast(String(err?.message || err), { kind: "error", timeout: 10000 });
});

