"""What reached the fake upstream (its ``/_fake/requests`` log)."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))


def upstream_request(upstream_url: str, marker: str) -> dict[str, Any]:
    """The body of the newest request whose last message holds ``marker``."""
    found = httpx.get(upstream_url + "/_fake/requests", timeout=10).json()["requests"]
    for request in reversed(found):
        if marker in text_of(request["body"]["messages"][-1]["content"]):
            return dict(request["body"])
    raise AssertionError(f"no upstream request with {marker!r}")
