// Strings in English and German; the language follows the browser and can be switched.

const STRINGS = {
  en: {
    conversations: "Conversations",
    conversationList: "Conversation list",
    newChat: "New chat",
    search: "Search",
    searchConversations: "Search conversations",
    language: "Language",
    openSidebar: "Open sidebar",
    closeSidebar: "Close sidebar",
    export: "Export conversation",
    exportMarkdown: "Export as Markdown",
    exportJson: "Export as JSON",
    messages: "Messages",
    loading: "Loading…",
    welcomeTitle: "How can I help?",
    chatSettings: "Chat settings",
    model: "Model",
    defaultModel: "Default model",
    systemPrompt: "System prompt",
    systemPromptHint: "Optional: how the assistant should behave",
    message: "Message",
    inputPlaceholder: "Message the assistant",
    send: "Send",
    stop: "Stop",
    keyboardHint: "Enter to send · Shift+Enter for a new line · Esc to stop",
    today: "Today",
    yesterday: "Yesterday",
    last7: "Previous 7 days",
    last30: "Previous 30 days",
    older: "Older",
    results: "Search results",
    noResults: "No conversations match",
    noConversations: "No conversations yet",
    rename: "Rename",
    delete: "Delete",
    deleted: "Conversation deleted",
    undo: "Undo",
    untitled: "New chat",
    you: "You",
    assistant: "Assistant",
    copy: "Copy",
    copied: "Copied",
    copyCode: "Copy code",
    edit: "Edit",
    saveAndSend: "Send",
    previousVersion: "Previous version",
    nextVersion: "Next version",
    versionOf: "{i} / {n}",
    goodResponse: "Good response",
    badResponse: "Bad response",
    feedbackComment: "What was wrong? (optional)",
    sendFeedback: "Send feedback",
    readAloud: "Read aloud",
    dictate: "Dictate",
    stopDictation: "Stop dictation",
    share: "Share",
    shareTitle: "Share this conversation",
    shareText: "Anyone with the link can read this conversation as it is now (a snapshot).",
    shareTextSignedIn: "Signed-in users of this service with the link can read this conversation as it is now (a snapshot).",
    shareExpiry: "Link expires",
    shareNever: "Never",
    shareDay: "In 1 day",
    shareWeek: "In 7 days",
    shareMonth: "In 30 days",
    createLink: "Create link",
    copyLink: "Copy link",
    revokeLink: "Revoke",
    linkRevoked: "Link revoked",
    shareLinks: "Links of this conversation",
    sharedSnapshot: "Shared conversation (read-only snapshot)",
    shareGone: "This link does not exist, was revoked or has expired.",
    shareSignIn: "Sign in to read this shared conversation.",
    close: "Close",
    cancel: "Cancel",
    regenerate: "Regenerate",
    stopped: "Stopped",
    interrupted: "The answer was interrupted",
    errorAnswer: "The answer failed",
    connected: "Connected",
    connecting: "Connecting…",
    offline: "Offline, reconnecting…",
    notFound: "That conversation does not exist (or is not yours).",
    sendFailed: "The message could not be sent",
    tooLarge: "The message is too long",
    rateLimited: "Too many requests, please wait a moment",
    busyRetry: "The service is busy: sending your message again in {s} s…",
    busyGaveUp: "The service is still busy; your message was not sent, try again later",
    answerDone: "Answer complete",
    loadMore: "Load more",
    thinking: "Thinking…",
    image: "image",
    toBottom: "Scroll to the latest message",
    suggest1: "Explain a concept in simple terms",
    suggest2: "Write a Python function with tests",
    suggest3: "Draft a friendly email",
    suggest4: "Summarize a text for me",
    signIn: "Sign in",
    signOut: "Sign out",
    signInTitle: "Sign in to chat",
    signInText: "Use your organisation's account.",
    adminPage: "Administration",
    accountDisabled: "This account is disabled. Ask your administrator.",
    signedOut: "You are signed out. Sign in again to go on.",
  },
  de: {
    conversations: "Unterhaltungen",
    conversationList: "Liste der Unterhaltungen",
    newChat: "Neuer Chat",
    search: "Suchen",
    searchConversations: "Unterhaltungen durchsuchen",
    language: "Sprache",
    openSidebar: "Seitenleiste öffnen",
    closeSidebar: "Seitenleiste schließen",
    export: "Unterhaltung exportieren",
    exportMarkdown: "Als Markdown exportieren",
    exportJson: "Als JSON exportieren",
    messages: "Nachrichten",
    loading: "Wird geladen…",
    welcomeTitle: "Wie kann ich helfen?",
    chatSettings: "Chat-Einstellungen",
    model: "Modell",
    defaultModel: "Standardmodell",
    systemPrompt: "Systemanweisung",
    systemPromptHint: "Optional: wie sich der Assistent verhalten soll",
    message: "Nachricht",
    inputPlaceholder: "Nachricht an den Assistenten",
    send: "Senden",
    stop: "Stoppen",
    keyboardHint: "Enter sendet · Umschalt+Enter für neue Zeile · Esc stoppt",
    today: "Heute",
    yesterday: "Gestern",
    last7: "Letzte 7 Tage",
    last30: "Letzte 30 Tage",
    older: "Älter",
    results: "Suchergebnisse",
    noResults: "Keine passenden Unterhaltungen",
    noConversations: "Noch keine Unterhaltungen",
    rename: "Umbenennen",
    delete: "Löschen",
    deleted: "Unterhaltung gelöscht",
    undo: "Rückgängig",
    untitled: "Neuer Chat",
    you: "Du",
    assistant: "Assistent",
    copy: "Kopieren",
    copied: "Kopiert",
    copyCode: "Code kopieren",
    edit: "Bearbeiten",
    saveAndSend: "Senden",
    previousVersion: "Vorherige Version",
    nextVersion: "Nächste Version",
    versionOf: "{i} / {n}",
    goodResponse: "Gute Antwort",
    badResponse: "Schlechte Antwort",
    feedbackComment: "Was war falsch? (optional)",
    sendFeedback: "Feedback senden",
    readAloud: "Vorlesen",
    dictate: "Diktieren",
    stopDictation: "Diktat beenden",
    share: "Teilen",
    shareTitle: "Diese Unterhaltung teilen",
    shareText: "Alle mit dem Link können diese Unterhaltung so lesen, wie sie jetzt ist (eine Momentaufnahme).",
    shareTextSignedIn: "Angemeldete Nutzer dieses Dienstes mit dem Link können diese Unterhaltung so lesen, wie sie jetzt ist (eine Momentaufnahme).",
    shareExpiry: "Link läuft ab",
    shareNever: "Nie",
    shareDay: "In 1 Tag",
    shareWeek: "In 7 Tagen",
    shareMonth: "In 30 Tagen",
    createLink: "Link erstellen",
    copyLink: "Link kopieren",
    revokeLink: "Widerrufen",
    linkRevoked: "Link widerrufen",
    shareLinks: "Links dieser Unterhaltung",
    sharedSnapshot: "Geteilte Unterhaltung (schreibgeschützte Momentaufnahme)",
    shareGone: "Diesen Link gibt es nicht, er wurde widerrufen oder ist abgelaufen.",
    shareSignIn: "Melde dich an, um diese geteilte Unterhaltung zu lesen.",
    close: "Schließen",
    cancel: "Abbrechen",
    regenerate: "Neu generieren",
    stopped: "Gestoppt",
    interrupted: "Die Antwort wurde unterbrochen",
    errorAnswer: "Die Antwort ist fehlgeschlagen",
    connected: "Verbunden",
    connecting: "Verbinde…",
    offline: "Offline, verbinde neu…",
    notFound: "Diese Unterhaltung gibt es nicht (oder sie gehört dir nicht).",
    sendFailed: "Die Nachricht konnte nicht gesendet werden",
    tooLarge: "Die Nachricht ist zu lang",
    rateLimited: "Zu viele Anfragen, bitte kurz warten",
    busyRetry: "Der Dienst ist ausgelastet: deine Nachricht wird in {s} s erneut gesendet…",
    busyGaveUp: "Der Dienst ist weiter ausgelastet; deine Nachricht wurde nicht gesendet, versuch es später",
    answerDone: "Antwort fertig",
    loadMore: "Mehr laden",
    thinking: "Denkt nach…",
    image: "Bild",
    toBottom: "Zur neuesten Nachricht",
    suggest1: "Erkläre ein Konzept in einfachen Worten",
    suggest2: "Schreibe eine Python-Funktion mit Tests",
    suggest3: "Entwirf eine freundliche E-Mail",
    suggest4: "Fasse einen Text für mich zusammen",
    signIn: "Anmelden",
    signOut: "Abmelden",
    signInTitle: "Zum Chatten anmelden",
    signInText: "Mit dem Konto deiner Organisation.",
    adminPage: "Verwaltung",
    accountDisabled: "Dieses Konto ist gesperrt. Frag deine Administration.",
    signedOut: "Du bist abgemeldet. Melde dich wieder an, um weiterzumachen.",
  },
};

export const LANGUAGES = Object.keys(STRINGS);
const KEY = "chatbot.lang";
let current = "en";

function fromBrowser() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (STRINGS[base]) return base;
  }
  return "en";
}

export function initLanguage() {
  const saved = localStorage.getItem(KEY);
  current = saved && STRINGS[saved] ? saved : fromBrowser();
  return current;
}

export function language() {
  return current;
}

export function setLanguage(lang) {
  if (!STRINGS[lang]) return;
  current = lang;
  localStorage.setItem(KEY, lang);
  applyTranslations(document);
}

/** More strings (a feature's own module adds its strings so): {en: {...}, de: {...}}. */
export function extendStrings(extra) {
  for (const [lang, strings] of Object.entries(extra)) {
    if (STRINGS[lang]) Object.assign(STRINGS[lang], strings);
  }
}

export function t(key) {
  return STRINGS[current][key] ?? STRINGS.en[key] ?? key;
}

/** Fill elements marked with data-i18n, data-i18n-placeholder, data-i18n-aria. */
export function applyTranslations(root) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAria));
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}
