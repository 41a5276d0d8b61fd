// Files attached to the next message: the "Attach file" button, drag and drop onto the page,
// paste into the composer. Each file is uploaded at once (into the open conversation, created
// first when there is none) and shown as a chip until the message is sent.

import { el, icon, toast } from "./dom.js";
import { formatSize } from "./files.js";
import { t } from "./i18n.js";

export class Attachments {
  /** box: the chips' container; api: FileApi; ensureConversation(): the open conversation's id */
  constructor(box, api, ensureConversation) {
    this.box = box;
    this.api = api;
    this.ensureConversation = ensureConversation;
    this.items = []; // {key, name, size, state: "uploading"|"ready", file?, promise}
  }

  /** Wire the button, the hidden file input, drag and drop on dropZone, paste in input. */
  bind(button, fileInput, dropZone, input) {
    button.replaceChildren(icon("clip"));
    button.addEventListener("click", () => fileInput.click());
    fileInput.addEventListener("change", () => {
      this.add([...fileInput.files]);
      fileInput.value = "";
    });
    const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
    dropZone.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      dropZone.classList.add("dropping");
    });
    dropZone.addEventListener("dragleave", (event) => {
      if (!dropZone.contains(event.relatedTarget)) dropZone.classList.remove("dropping");
    });
    dropZone.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      dropZone.classList.remove("dropping");
      this.add([...event.dataTransfer.files]);
    });
    input.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])];
      if (!files.length) return;
      event.preventDefault();
      this.add(files);
    });
  }

  get uploading() {
    return this.items.some((item) => item.state === "uploading");
  }

  add(files) {
    for (const file of files) {
      const item = { key: crypto.randomUUID?.() ?? String(Math.random()), name: file.name || "pasted", size: file.size, state: "uploading" };
      item.promise = this.upload(item, file);
      this.items.push(item);
    }
    this.render();
  }

  async upload(item, file) {
    try {
      const conversationId = await this.ensureConversation();
      if (!conversationId) throw Object.assign(new Error(t("fileRefused")), { code: "invalid" });
      item.file = await this.api.upload(conversationId, file);
      item.state = "ready";
    } catch (err) {
      this.items = this.items.filter((other) => other !== item);
      const text = err.code === "too_large" ? `${t("fileTooLarge")}: ${item.name}` : `${item.name}: ${err.message || t("fileRefused")}`;
      toast(text, { kind: "error", timeout: 8000 });
    }
    this.render();
  }

  /** The stored files of the attachments, once every upload has ended. */
  async ready() {
    await Promise.all(this.items.map((item) => item.promise));
    return this.items.filter((item) => item.file).map((item) => item.file);
  }

  clear() {
    this.items = [];
    this.render();
  }

  /** Drop the attachments not sent (a new chat): their stored files are deleted too. */
  discard() {
    for (const item of this.items) {
      if (item.file) this.api.remove(item.file.id).catch(() => {});
    }
    this.clear();
  }

  remove(item) {
    this.items = this.items.filter((other) => other !== item);
    if (item.file) this.api.remove(item.file.id).catch(() => {});
    this.render();
  }

  render() {
    this.box.hidden = !this.items.length;
    this.box.replaceChildren(...this.items.map((item) => el("span", {
      class: `chip ${item.state}`, "data-name": item.name,
    },
    el("span", { class: "chip-name", text: item.name }),
    el("span", { class: "chip-meta", text: item.state === "uploading" ? t("uploading") : formatSize(item.size) }),
    el("button", {
      type: "button", class: "chip-remove", "aria-label": `${t("removeFile")} ${item.name}`,
      onclick: () => this.remove(item),
    }, icon("close")))));
  }
}

/** A file named by a message: a chip that downloads it. */
export function fileChip(file, api) {
  return el("button", {
    type: "button", class: "chip file-chip", title: t("downloadFile"), "data-name": file.name,
    onclick: async () => {
      try {
        const url = URL.createObjectURL(await api.blob(file.id));
        const a = el("a", { href: url, download: file.name });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      } catch (err) {
        toast(err.message || t("fileRefused"), { kind: "error" });
      }
    },
  }, el("span", { class: "chip-name", text: file.name }), el("span", { class: "chip-meta", text: formatSize(file.size) }));
}
