// The operator's view: usage per user, model and day over a period (with time to first token
// p50/p95), users with disable and daily-limit actions, and live figures per replica. Every
// figure comes from the chat service's admin events, which only admins may call.

import { Auth } from "./auth.js";
import { Connection } from "./connection.js";
import { el, toast } from "./dom.js";

const $ = (id) => document.getElementById(id);
const USAGE_COLUMNS = [
  ["messages", "Messages"], ["prompt_tokens", "Prompt tokens"],
  ["completion_tokens", "Completion tokens"], ["errors", "Errors"],
  ["good", "Good responses"], ["bad", "Bad responses"],
  ["ttft_p50_ms", "TTFT p50 (ms)"], ["ttft_p95_ms", "TTFT p95 (ms)"],
];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function refuse(text) {
  $("admin-main").hidden = true;
  const box = $("refused");
  box.hidden = false;
  box.replaceChildren(el("span", { text }), " ", el("a", { href: "/", text: "Back to the chat" }));
  document.body.dataset.ready = "true";
}

function usageTable(table, label, rows, names) {
  const head = el("tr", {}, el("th", { text: label }),
    ...USAGE_COLUMNS.map(([, title]) => el("th", { class: "num", text: title })));
  const body = rows.map((row) => el("tr", { "data-key": row.key },
    el("td", { class: "key", text: names.get(row.key) || row.key || "(default)" }),
    ...USAGE_COLUMNS.map(([field]) => el("td", { class: `num ${field}`, text: row[field] ?? "–" }))));
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
}

async function boot() {
  const config = await (await fetch("/config.json")).json();
  const auth = new Auth(config.auth);
  await auth.start();
  if (auth.kind !== "oidc") {
    refuse("Sign in on the chat page first.");
    return;
  }
  $("admin-user").textContent = auth.user.name;
  if (!auth.user.admin) {
    refuse("This page is for administrators.");
    return;
  }
  const io = (await import("/vendor/socket.io-client/socket.io.esm.min.js")).io;
  const names = new Map();
  let conn;
  const refresh = async () => {
    const since = $("since").value;
    const until = $("until").value;
    try {
      const users = (await conn.request("admin.users", { limit: 100 })).users;
      for (const u of users) names.set(u.user_id, u.name || u.user_id);
      renderUsers(users);
      for (const by of ["user", "model", "day"]) {
        const { rows } = await conn.request("admin.usage", { group_by: by, since, until });
        usageTable($(`usage-${by}`), by[0].toUpperCase() + by.slice(1), rows, by === "user" ? names : new Map());
      }
      await refreshLive();
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
    } catch (err) {
      if (err.code === "forbidden") refuse("This page is for administrators.");
      else toast(err.message, { kind: "error" });
    }
  };
  const refreshLive = async () => {
    const { replicas } = await conn.request("admin.live", {});
    $("live").tBodies[0].replaceChildren(...replicas.map((r) => el("tr", {},
      el("td", { text: r.replica }), el("td", { class: "num connections", text: r.connections }),
      el("td", { class: "num answers", text: r.answers }))));
  };
  const update = async (change) => {
    try {
      await conn.request("admin.user.update", change);
      await refresh();
    } catch (err) {
      toast(err.message, { kind: "error" });
    }
  };
  // Limits typed and not yet set, by user: a refresh (another action's, a reconnect's) redraws
  // the table and must not put the stored value back over what the operator is typing.
  const typed = new Map();
  const renderUsers = (users) => {
    $("users").tBodies[0].replaceChildren(...users.map((u) => {
      const limit = el("input", { type: "number", min: "0", step: "1",
        value: typed.has(u.user_id) ? typed.get(u.user_id) : (u.tokens_per_day ?? ""),
        placeholder: "default", "aria-label": `Tokens per day for ${u.name || u.user_id}`,
        oninput: () => typed.set(u.user_id, limit.value) });
      return el("tr", { "data-user": u.user_id, class: u.disabled ? "disabled" : "" },
        el("td", { class: "name", text: u.name || u.user_id, title: u.user_id }),
        el("td", { text: (u.last_seen || "").replace("T", " ").slice(0, 19) }),
        el("td", { class: "num conversations", text: u.conversations }),
        el("td", { class: "num tokens-today", text: u.tokens_today }),
        el("td", {}, limit, " ", el("button", {
          type: "button", class: "set-limit", text: "Set",
          onclick: () => {
            typed.delete(u.user_id);  // from now on the stored value is the one to show
            update({ user_id: u.user_id, tokens_per_day: Number(limit.value || 0) });
          },
        })),
        el("td", {}, el("button", {
          type: "button", class: "toggle-disabled", text: u.disabled ? "Enable" : "Disable",
          onclick: () => update({ user_id: u.user_id, disabled: !u.disabled }),
        })));
    }));
  };
  const today = new Date();
  $("until").value = isoDay(today);
  $("since").value = isoDay(new Date(today.getTime() - 6 * 86400000));
  $("period").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
  conn = new Connection(io, auth, {
    onState: () => {},
    onConnect: () => refresh(),
    onRefused: (code) => refuse(code === "forbidden" ? "This account is disabled." : "Signed out."),
  });
  $("admin-main").hidden = false;
  conn.open(config);
  setInterval(() => { if (conn.connected) refreshLive().catch(() => {}); }, 5000);
  document.body.dataset.ready = "true";
}

boot().catch((err) => refuse(String(err?.message || err)));
