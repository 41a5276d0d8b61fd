// LaTeX in answers, rendered with KaTeX (served from /vendor/katex): inline $…$ and \(…\),
// display $$…$$, \[…\] and ```math blocks. The Markdown step only marks the formulas (as code
// elements, escaped text, so DOMPurify keeps them inert); KaTeX then builds their DOM itself
// (styles set through the CSSOM, no inline style attributes: the strict CSP holds). A formula
// KaTeX cannot parse is shown as its source.

const MAX_TEX = 4000; // longer formulas stay source text
const OPTIONS = { throwOnError: false, output: "htmlAndMathml", strict: "ignore", trust: false, maxSize: 20, maxExpand: 200 };

function escapeHtml(text) {
  return String(text)
    .replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

const INLINE = [
  [/^\$\$((?:\\[\s\S]|[^\\$])+?)\$\$/, true],
  [/^\\\[([\s\S]+?)\\\]/, true],
  [/^\\\(([\s\S]+?)\\\)/, false],
  // $…$: no space inside the dollars, no digit right after ("$5 and $10" stays text).
  [/^\$(?![\s$])((?:\\[\s\S]|[^\\$\n])+?)(?<![\s\\])\$(?!\d)/, false],
];

/** The marked extension (pass to `new Marked(options, mathExtension)`). */
export const mathExtension = {
  extensions: [
    {
      name: "mathBlock",
      level: "block",
      start: (src) => src.match(/^(?:\$\$|\\\[)/m)?.index,
      tokenizer(src) {
        const m = /^(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])[ \t]*(?:\n+|$)/.exec(src);
        if (m) return { type: "mathBlock", raw: m[0], text: (m[1] ?? m[2]).trim() };
        return undefined;
      },
      renderer: (token) => `<pre><code class="language-math">${escapeHtml(token.text)}</code></pre>\n`,
    },
    {
      name: "mathInline",
      level: "inline",
      start: (src) => {
        const i = src.search(/\$|\\[([]/);
        return i < 0 ? undefined : i;
      },
      tokenizer(src) {
        for (const [pattern, display] of INLINE) {
          const m = pattern.exec(src);
          if (m) return { type: "mathInline", raw: m[0], text: m[1].trim(), display };
        }
        return undefined;
      },
      renderer: (token) => `<code class="language-math-${token.display ? "display" : "inline"}">${escapeHtml(token.text)}</code>`,
    },
  ],
};

/** Replace the marked formulas under `root` with KaTeX's rendering. */
export function renderMath(root, katex) {
  if (!katex) return;
  for (const code of root.querySelectorAll("code.language-math-inline, code.language-math-display, pre > code.language-math")) {
    const tex = code.textContent;
    if (!tex || tex.length > MAX_TEX) continue;
    const block = code.parentElement?.nodeName === "PRE";
    const display = block || code.classList.contains("language-math-display");
    const target = document.createElement(block ? "div" : "span");
    target.className = display ? "math math-display" : "math math-inline";
    try {
      katex.render(tex, target, { ...OPTIONS, displayMode: display });
    } catch {
      continue; // shown as its source
    }
    (block ? code.parentElement : code).replaceWith(target);
  }
}
