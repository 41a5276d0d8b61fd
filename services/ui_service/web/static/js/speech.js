// Voice: dictate a message (the browser's speech recognition) and read an answer aloud
// (speech synthesis). Each control exists only where the browser has the feature.

import { t } from "./i18n.js";

export class Speech {
  constructor() {
    this.Recognition = globalThis.SpeechRecognition || globalThis.webkitSpeechRecognition || null;
    this.canDictate = typeof this.Recognition === "function";
    this.canSpeak = Boolean(globalThis.speechSynthesis) && typeof globalThis.SpeechSynthesisUtterance === "function";
    this.recognition = null;
    this.speaking = null;
  }

  /** Read the answer's text (as shown, without Markdown marks) aloud; again stops it. */
  speak(message) {
    if (!this.canSpeak || !message) return;
    const synth = globalThis.speechSynthesis;
    const again = this.speaking === message.id;
    synth.cancel();
    this.speaking = null;
    if (again) return;
    const shown = document.querySelector(`.msg[data-id="${CSS.escape(message.id)}"] .msg-content`);
    const text = (shown?.innerText || message.content || "").trim();
    if (!text) return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = document.documentElement.lang || "en";
    utterance.onend = () => { if (this.speaking === message.id) this.speaking = null; };
    this.speaking = message.id;
    synth.speak(utterance);
  }

  /** Wire the dictation button to the message field: results are appended as spoken. */
  bindDictation(button, input, onText) {
    button.hidden = !this.canDictate;
    if (!this.canDictate) return;
    const setState = (on) => {
      button.setAttribute("aria-pressed", String(on));
      button.setAttribute("aria-label", t(on ? "stopDictation" : "dictate"));
      button.title = t(on ? "stopDictation" : "dictate");
    };
    setState(false);
    button.addEventListener("click", () => {
      if (this.recognition) {
        this.recognition.stop();
        return;
      }
      const rec = new this.Recognition();
      rec.lang = document.documentElement.lang || "en";
      rec.interimResults = false;
      rec.continuous = false;
      const before = input.value;
      rec.onresult = (event) => {
        const said = Array.from(event.results).map((r) => r[0]?.transcript || "").join(" ").trim();
        if (!said) return;
        input.value = before ? `${before.replace(/\s+$/, "")} ${said}` : said;
        onText();
      };
      rec.onerror = () => {};
      rec.onend = () => { this.recognition = null; setState(false); };
      this.recognition = rec;
      setState(true);
      try {
        rec.start();
      } catch {
        this.recognition = null;
        setState(false);
      }
    });
  }
}
