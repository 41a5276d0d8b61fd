"""The chat page's token (Debian's chromium, the whole system): a forged one is replaced, an
expired one renewed for the same user."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from chatbot_common.tokens import ALGORITHM, AUDIENCE, ISSUER

from tests.support.stack import Stack

from .pw import browser, conversation_id, open_chat, send, user_id, wait_answer_done, wait_connected

pytestmark = pytest.mark.browser


def test_invalid_token_is_replaced_and_the_page_connects(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, stack.ui.url)
        first_user = user_id(page)
        # A valid renewal keeps the user: the token is exchanged, conversations stay.
        send(page, "Keep me [tokens:5]")
        wait_answer_done(page)
        forged = (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJndWVzdC14IiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJl"
        )
        page.evaluate("(t) => localStorage.setItem('chatbot.token', t)", forged)
        page.goto(stack.ui.url)
        wait_connected(page)
        # The forged identity is never adopted: the HttpOnly refresh cookie keeps this guest.
        assert user_id(page) == first_user
        # Without that cookie (another browser), a forged token gets a brand-new guest.
        context.clear_cookies()
        page.evaluate("(t) => localStorage.setItem('chatbot.token', t)", forged)
        page.goto(stack.ui.url)
        wait_connected(page)
        assert user_id(page) not in (first_user, "guest-x")
        assert page.locator(".conv").count() == 0


def test_expired_token_is_renewed_for_the_same_user(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, stack.ui.url)
        send(page, "Still mine after renewal [tokens:5]")
        wait_answer_done(page)
        owner, cid = user_id(page), conversation_id(page)
        now = int(time.time())
        expired = jwt.encode(
            {"sub": owner, "iss": ISSUER, "aud": AUDIENCE, "iat": now - 8 * 86400,
             "exp": now - 3600, "guest": True},
            stack.auth_secret,
            algorithm=ALGORITHM,
        )
        page.evaluate("(t) => localStorage.setItem('chatbot.token', t)", expired)
        page.goto(stack.ui.url)
        wait_connected(page)
        # The page exchanged the expired token for a fresh one of the same user.
        assert user_id(page) == owner
        assert page.evaluate("localStorage.getItem('chatbot.token')") != expired
        page.wait_for_selector(f".conv[data-id='{cid}']")
