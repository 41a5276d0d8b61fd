// The npm libraries, served by the UI service from node_modules under /vendor/.
// Loaded dynamically so that a missing install shows a clear hint instead of a blank page.

export async function loadLibraries() {
  const [sio, marked, purify, hljs, katex] = await Promise.all([
    import("/vendor/socket.io-client/socket.io.esm.min.js"),
    import("/vendor/marked/marked.esm.js"),
    import("/vendor/dompurify/purify.es.mjs"),
    import("/vendor/highlight.js/es/highlight.min.js"),
    import("/vendor/katex/katex.mjs"),
  ]);
  return {
    io: sio.io, Marked: marked.Marked, DOMPurify: purify.default, hljs: hljs.default,
    katex: katex.default,
  };
}
