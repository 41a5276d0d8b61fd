"""The npm libraries the page uses, served from node_modules (installed, never committed)."""

from __future__ import annotations

from pathlib import Path

from chatbot_common.errors import NotFoundError, UnavailableError

INSTALL_HINT = "npm ci --prefix services/ui_service/web"

# URL name under /vendor/ -> directory inside node_modules. Only these are reachable.
PACKAGES: dict[str, str] = {
    "socket.io-client": "socket.io-client/dist",
    "marked": "marked/lib",
    "dompurify": "dompurify/dist",
    "highlight.js": "@highlightjs/cdn-assets",
    "katex": "katex/dist",  # math: the module, its stylesheet and fonts
}

# The files the page imports: all must exist for the page to work (readiness).
REQUIRED: tuple[str, ...] = (
    "socket.io-client/socket.io.esm.min.js",
    "marked/marked.esm.js",
    "dompurify/purify.es.mjs",
    "highlight.js/es/highlight.min.js",
    "highlight.js/styles/github.min.css",
    "highlight.js/styles/github-dark.min.css",
    "katex/katex.mjs",
    "katex/katex.min.css",
)

SUFFIXES = {".js", ".mjs", ".css", ".map", ".woff2", ".woff", ".ttf"}
#: Media types Python's table may lack (fonts of KaTeX's stylesheet).
MEDIA_TYPES = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}


class MissingLibrariesError(UnavailableError):
    """The page's JS libraries are not installed."""


def missing_files(node_modules: Path) -> list[str]:
    return [name for name in REQUIRED if not _target(node_modules, name).is_file()]


def _target(node_modules: Path, name: str) -> Path:
    package, _, rest = name.partition("/")
    return node_modules / PACKAGES[package] / rest


def resolve(node_modules: Path, package: str, path: str) -> Path:
    """The file for /vendor/<package>/<path>, never outside that package's directory."""
    if package not in PACKAGES:
        raise NotFoundError(f"no library {package!r} is served here")
    if "\0" in path:  # no file name holds NUL (and the OS refuses it): simply not found
        raise NotFoundError("no such file")
    base = (node_modules / PACKAGES[package]).resolve()
    if not base.is_dir():
        raise MissingLibrariesError(
            f"the page's JavaScript libraries are not installed: run `{INSTALL_HINT}`"
        )
    target = (base / path).resolve()
    if not target.is_relative_to(base) or target.suffix not in SUFFIXES or not target.is_file():
        raise NotFoundError(f"no file {path!r} in {package}")
    return target
