"""Where the browser reaches the chat service: from the configuration, never from the request.

The request's ``Host`` header is the client's to choose; reflecting it into ``/config.json``
or the CSP would let anyone who can get a response cached or replayed point the page at a
chat server of theirs. Everything here derives from ``PUBLIC_URL`` (the page's own public
address) and ``CHAT_PUBLIC_URL`` / ``CHAT_PUBLIC_PORT``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .settings import UiSettings


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def chat_url(settings: UiSettings) -> str:
    """The base URL for Socket.IO: configured, '' (same origin), or PUBLIC_URL's host + port."""
    if settings.chat_public_url is not None:
        return settings.chat_public_url.rstrip("/")
    page = urlsplit(settings.public_url)
    host = page.hostname or "localhost"
    host = f"[{host}]" if ":" in host else host
    return f"{page.scheme}://{host}:{settings.chat_public_port}"


def connect_sources(settings: UiSettings) -> list[str]:
    """CSP connect-src: our origin plus the chat origin over HTTP(S) and WebSocket."""
    url = chat_url(settings)
    origin = origin_of(url) if url else origin_of(settings.public_url)
    ws_scheme = "wss" if origin.startswith("https:") else "ws"
    return ["'self'", origin, ws_scheme + origin[origin.index(":") :]]
