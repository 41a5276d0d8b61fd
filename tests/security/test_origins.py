"""Finding 4: ``ALLOWED_ORIGINS=""`` means the page's own origin (PUBLIC_URL), never any.

engine.io reads an empty list of origins as "allow any"; the chart's default is empty. With
ALLOWED_ORIGINS empty and PUBLIC_URL set, a browser on another site is refused at connect
(a CSRF-like cross-site socket), the page's origin is admitted, and with neither set no
browser origin is admitted at all.
"""

from __future__ import annotations

import pytest
import socketio

from tests.security._hostile import PAGE, guest
from tests.support.chat_client import ChatClient
from tests.support.processes import start_service
from tests.support.stack import Stack


async def test_empty_allowed_origins_mean_the_public_url_only(hostile: Stack) -> None:
    token = guest(hostile, "10.4.0.1")
    for origin in ("http://evil.example", "null", PAGE + ".evil.example"):
        c = ChatClient(hostile.chat.url, token, origin=origin)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await c.connect()
        await c.close()
    page = await ChatClient(hostile.chat.url, token, origin=PAGE).connect()
    assert (await page.call("conversation.list", {}))["ok"] is True
    await page.close()


async def test_no_public_url_and_no_origins_admit_no_browser(hostile: Stack) -> None:
    chat = start_service("chat_service", env={
        "AUTH_SECRET": hostile.auth_secret, "STATE_DIR": str(hostile.state_dir),
        "ALLOWED_ORIGINS": "", "HISTORY_SERVICE_URL": hostile.history.url,
        "LLM_SERVICE_URL": hostile.llm.url + "/v1", "INTERNAL_TOKEN": hostile.internal_token,
    })
    try:
        c = ChatClient(chat.url, guest(hostile, "10.4.0.2"), origin="http://evil.example")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await c.connect()
        await c.close()
    finally:
        chat.stop()
