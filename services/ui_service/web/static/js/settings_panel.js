// The conversation's settings: temperature, top-p and maximum answer length (sampling), within
// the operator's bounds (the chat service refuses others with `invalid`; the message is shown).
// For a new chat the values are kept and sent with conversation.create.

import { el, toast } from "./dom.js";
import { t } from "./i18n.js";

const FIELDS = [
  { key: "temperature", label: "temperature", min: 0, max: 2, step: 0.1 },
  { key: "top_p", label: "topP", min: 0.05, max: 1, step: 0.05 },
  { key: "max_tokens", label: "maxTokens", min: 1, step: 1, integer: true },
];

export class SettingsPanel {
  /** save(sampling) → the conversation (throws on refusal); current() → the open one or null */
  constructor(button, panel, { save, current }) {
    this.button = button;
    this.panel = panel;
    this.save = save;
    this.current = current;
    this.pending = null; // a new chat's settings, sent with conversation.create
    this.inputs = {};
    const rows = FIELDS.map((field) => {
      const id = `sampling-${field.key}`;
      const input = el("input", {
        type: "number", id, name: field.key, min: field.min, max: field.max, step: field.step,
        inputmode: field.integer ? "numeric" : "decimal",
      });
      this.inputs[field.key] = input;
      return el("div", { class: "setting-row" }, el("label", { for: id, "data-i18n": field.label, text: t(field.label) }), input);
    });
    const form = el("form", { class: "settings-form" }, ...rows,
      el("div", { class: "edit-buttons" },
        el("button", { type: "submit", class: "btn primary", "data-i18n": "save", text: t("save") })));
    form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    panel.append(el("h2", { class: "settings-title", "data-i18n": "convSettings", text: t("convSettings") }), form);
    button.addEventListener("click", (event) => { event.stopPropagation(); this.toggle(panel.hidden); });
    panel.addEventListener("click", (event) => event.stopPropagation());
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.stopPropagation(); this.toggle(false); button.focus(); }
    });
    document.addEventListener("click", () => this.toggle(false));
  }

  toggle(open) {
    if (open) this.fill();
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) this.inputs.temperature.focus();
  }

  fill() {
    const sampling = this.current()?.sampling ?? this.pending ?? {};
    for (const field of FIELDS) {
      const input = this.inputs[field.key];
      input.value = sampling[field.key] ?? "";
      input.placeholder = t("modelDefault");
    }
  }

  values() {
    const sampling = {};
    for (const field of FIELDS) {
      const raw = this.inputs[field.key].value.trim();
      sampling[field.key] = raw === "" ? null : (field.integer ? parseInt(raw, 10) : Number(raw));
    }
    return sampling;
  }

  /** The settings a new chat is created with (none set: undefined). */
  forNewChat() {
    const set = this.pending && Object.values(this.pending).some((v) => v !== null);
    return set ? this.pending : undefined;
  }

  reset() {
    this.pending = null;
  }

  async submit() {
    const sampling = this.values();
    if (!this.current()) {
      this.pending = sampling;
      this.toggle(false);
      return;
    }
    try {
      await this.save(sampling);
      toast(t("settingsSaved"));
      this.toggle(false);
    } catch (err) {
      toast(err.message || String(err), { kind: "error", timeout: 8000 });
    }
  }
}
