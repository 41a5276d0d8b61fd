// Model output → sanitized DOM: Markdown (marked), no raw HTML, no remote images, safe links
// (DOMPurify), highlighted code blocks with a copy button (highlight.js), scrollable tables.

import { copyText, el, icon } from "./dom.js";
import { t } from "./i18n.js";
import { mathExtension, renderMath } from "./math.js";

const ALLOWED_TAGS = [
  "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "a",
  "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
  "table", "thead", "tbody", "tr", "th", "td", "span", "sup", "sub",
];
const ALLOWED_ATTR = ["href", "title", "class", "align", "start"];
const SAFE_URL = /^(?:https?:|mailto:)/i;

function escapeHtml(text) {
  return String(text)
    .replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

export class MarkdownRenderer {
  constructor({ Marked, DOMPurify, hljs, katex }) {
    this.hljs = hljs;
    this.katex = katex;
    hljs.configure({ ignoreUnescapedHTML: true });
    this.purify = DOMPurify;
    this.marked = new Marked({
      gfm: true,
      breaks: false,
      renderer: {
        // Raw HTML in model output is shown as text, never interpreted.
        html: ({ text }) => escapeHtml(text),
        // No remote images: show the alt text as a link the user may choose to open.
        image: ({ href, text }) => {
          const label = `[${t("image")}: ${escapeHtml(text || href)}]`;
          return SAFE_URL.test(href || "") ? `<a href="${escapeHtml(href)}">${label}</a>` : label;
        },
        code: ({ text, lang }) => {
          const language = (lang || "").trim().split(/\s+/)[0].replace(/[^\w+#.-]/g, "");
          const cls = language ? ` class="language-${escapeHtml(language)}"` : "";
          return `<pre><code${cls}>${escapeHtml(text)}</code></pre>`;
        },
      },
    }, mathExtension);
    DOMPurify.addHook("uponSanitizeAttribute", (node, data) => {
      if (data.attrName === "class") {
        // Only code language classes: model output may not borrow the page's own classes.
        data.keepAttr = node.nodeName === "CODE" && /^language-[\w+#.-]+$/.test(data.attrValue);
      }
      if (data.attrName === "href" && !SAFE_URL.test(data.attrValue.trim())) data.keepAttr = false;
    });
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.nodeName === "A") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer nofollow");
      }
    });
  }

  /** Sanitized fragment for `text`; `final` enables language auto-detection for code. */
  render(text, { final = false } = {}) {
    const html = this.marked.parse(text || "", { async: false });
    const fragment = this.purify.sanitize(html, {
      ALLOWED_TAGS,
      ALLOWED_ATTR,
      ALLOW_DATA_ATTR: false,
      ALLOW_ARIA_ATTR: false,
      RETURN_DOM_FRAGMENT: true,
    });
    this.decorate(fragment, final);
    return fragment;
  }

  decorate(root, final) {
    renderMath(root, this.katex); // first: ```math blocks are formulas, not code
    for (const table of root.querySelectorAll("table")) {
      const wrap = el("div", { class: "table-wrap", tabindex: "0" });
      table.replaceWith(wrap);
      wrap.append(table);
    }
    for (const pre of root.querySelectorAll("pre")) {
      const code = pre.querySelector("code");
      if (!code) continue;
      const match = /language-([\w+#.-]+)/.exec(code.className);
      const lang = match ? match[1] : "";
      if (lang && this.hljs.getLanguage(lang)) {
        this.hljs.highlightElement(code);
      } else if (final && code.textContent.length < 20000) {
        const result = this.hljs.highlightAuto(code.textContent);
        if (result.relevance > 5) {
          code.innerHTML = result.value; // highlight.js escapes the text it wraps
          code.classList.add("hljs");
        }
      }
      const copy = el("button", {
        type: "button", class: "code-copy", "aria-label": t("copyCode"),
        onclick: async () => {
          if (await copyText(code.textContent)) {
            copy.replaceChildren(icon("check"), t("copied"));
            setTimeout(() => copy.replaceChildren(icon("copy"), t("copy")), 1500);
          }
        },
      }, icon("copy"), t("copy"));
      const block = el("div", { class: "code-block" },
        el("div", { class: "code-head" }, el("span", { class: "code-lang", text: lang || "text" }), copy));
      pre.replaceWith(block);
      block.append(pre);
    }
  }
}
