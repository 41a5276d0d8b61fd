"""Where the browser reaches the chat service, as seen from one request to the page."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from .settings import UiSettings


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def chat_url(request: HTTPConnection, settings: UiSettings) -> str:
    """The base URL for Socket.IO: configured, '' (same origin), or the page's host + chat port.

    Deriving it from the request makes a local run work from localhost, 127.0.0.1 or a LAN name.
    """
    if settings.chat_public_url is not None:
        return settings.chat_public_url.rstrip("/")
    host = request.url.hostname or "127.0.0.1"
    return f"{request.url.scheme}://{_host_for_url(host)}:{settings.chat_public_port}"


def connect_sources(request: HTTPConnection, settings: UiSettings) -> list[str]:
    """CSP connect-src: our origin plus the chat origin over HTTP(S) and WebSocket."""
    sources = ["'self'"]
    url = chat_url(request, settings)
    if url:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
    else:
        origin = f"{request.url.scheme}://{request.url.netloc}"
    ws_scheme = "wss" if origin.startswith("https:") else "ws"
    sources.append(origin)
    sources.append(ws_scheme + origin[origin.index(":") :])
    return sources
