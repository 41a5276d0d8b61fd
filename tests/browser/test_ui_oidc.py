"""Sign-in with a real Keycloak, through its own login page, in Debian's chromium.

The stack runs with ``OIDC_ISSUER`` and no ``GUEST_ACCESS`` (so guests are off): nothing works
before sign-in. Realm ``chatbot`` (tests/support/keycloak/chatbot-realm.json): ID tokens live
60 s, so the page must renew over its open socket.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jwt
import pytest
import socketio
from chatbot_common.oidc import oidc_user_id
from chatbot_common.tokens import issue_guest_token
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.security_support import LoopThread
from tests.support.chat_client import ChatClient
from tests.support.fake_upstream import answer_tokens
from tests.support.keycloak import NAMES, PASSWORDS, TEST_TIMEOUT, Keycloak
from tests.support.stack import Stack, start_stack

from .pw import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PageProblems,
    assistant_texts,
    conversation_id,
    screenshot,
    send,
    wait_answer_done,
    wait_connected,
    wait_ready,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(TEST_TIMEOUT)]

TOKEN_MS = 80  # the fake upstream's time per token: [tokens:N] lasts N * 80 ms (< LLM_MAX_TOKENS)


@pytest.fixture(scope="module")
def oidc_stack(tmp_path_factory: pytest.TempPathFactory, keycloak: Keycloak) -> Iterator[Stack]:
    s = start_stack(
        Path(tmp_path_factory.mktemp("oidc-browser")),
        env={"OIDC_ISSUER": keycloak.issuer, "OIDC_CLIENT_ID": "chatbot"},
        upstream_env={"FAKE_TOKEN_MS": str(TOKEN_MS), "FAKE_TOKENS": "8"},
        chat_env={"TOKEN_CHECK_SECONDS": "0.5"},
    )
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    lt = LoopThread()
    try:
        yield lt
    finally:
        lt.close()


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """One chromium; each ``new_context()`` is a browser profile of its own (cookies too)."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def new_context(chromium: Browser) -> BrowserContext:
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(30_000)
    return context


def sign_in(page: Page, username: str) -> None:
    """From the page's "Sign in" through Keycloak's login form, back signed in."""
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_selector("#kc-form-login")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("#kc-login")
    wait_connected(page)
    page.wait_for_function(
        "name => document.getElementById('user-name').textContent === name", arg=NAMES[username]
    )


def open_page(context: BrowserContext, url: str) -> tuple[Page, PageProblems]:
    page = context.pages[0] if context.pages else context.new_page()
    problems = PageProblems(page)
    page.goto(url)
    wait_ready(page, problems)
    return page, problems


def expected(question: str, tokens: int) -> str:
    return " ".join(answer_tokens(question, tokens))


def test_guests_off_sign_in_chat_second_browser_other_user_sign_out(
    oidc_stack: Stack, keycloak: Keycloak, chromium: Browser, loop: LoopThread
) -> None:
    ui = oidc_stack.ui.url
    # Nothing works before sign-in: no guest token, a guest socket refused, only the screen.
    assert httpx.post(ui + "/auth/guest", timeout=10).status_code == 403
    guest, _ = issue_guest_token(oidc_stack.auth_secret, 600)
    with pytest.raises(socketio.exceptions.ConnectionError):
        loop.run(ChatClient(oidc_stack.chat.url, guest).connect())
    question = "Hello from the signed-in user [tokens:6]"
    with new_context(chromium) as context:
        page, problems = open_page(context, ui)
        assert page.is_visible("#signin-screen") and page.is_hidden("#app")
        assert page.get_by_role("button", name="Sign in", exact=True).is_visible()
        screenshot(page, "signin-screen")
        sign_in(page, "bob")
        assert page.is_hidden("#signin-screen")
        assert page.is_hidden("#admin-link")  # bob is no admin
        page.click("#new-chat")
        send(page, question)
        wait_answer_done(page)
        assert assistant_texts(page) == [expected(question, 6)]
        cid = conversation_id(page)
        screenshot(page, "signed-in")
        # The same person in a second browser sees the same conversation.
        with new_context(chromium) as second:
            other, _ = open_page(second, ui)
            sign_in(other, "bob")
            other.wait_for_selector(f".conv[data-id='{cid}']")
            other.click(f".conv[data-id='{cid}']")
            wait_answer_done(other)
            assert assistant_texts(other) == [expected(question, 6)]
        # Another person sees none of it, not even by its link.
        with new_context(chromium) as third:
            carol, _ = open_page(third, ui + f"/c/{cid}")
            sign_in(carol, "carol")
            carol.wait_for_selector(".toast-error")
            assert carol.locator(".conv").count() == 0
            assert assistant_texts(carol) == []
        # Sign out: back on the sign-in screen, and the provider's session is over too.
        page.click("#user-btn")
        page.get_by_role("menuitem", name="Sign out").click()
        page.wait_for_selector("#signin-screen:not([hidden])")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_selector("#kc-form-login")  # asks for the password again
        assert not problems.errors, problems.errors


def test_renewal_keeps_the_answer_while_the_old_token_is_refused(
    oidc_stack: Stack, keycloak: Keycloak, chromium: Browser, loop: LoopThread
) -> None:
    with new_context(chromium) as context:
        page, problems = open_page(context, oidc_stack.ui.url)
        with page.expect_response("**/auth/oidc/token") as signed:
            sign_in(page, "dave")
        old_token = signed.value.json()["token"]
        exp = jwt.decode(old_token, options={"verify_signature": False})["exp"]
        lifetime = exp - time.time()
        assert 0 < lifetime <= 61, lifetime
        # A raw socket holding the page's first token, connected while it is still valid.
        raw = ChatClient(oidc_stack.chat.url, old_token)
        gone = asyncio.Event()
        loop.run(raw.connect())
        raw.sio.on("disconnect", lambda *_: loop.loop.call_soon(gone.set))
        # An answer streaming across the renewal (at 2/3 of the lifetime) and the old expiry.
        tokens = int((lifetime + 8) * 1000 / TOKEN_MS)
        question = f"A long answer across the renewal [tokens:{tokens}]"
        page.click("#new-chat")
        send(page, question)
        page.wait_for_selector("body[data-renewals='1']", timeout=(lifetime + 30) * 1000)
        # The old token's socket is refused and closed after its expiry...
        loop.run(asyncio.wait_for(gone.wait(), max(5.0, exp - time.time() + 10)))
        assert time.time() >= exp - 1
        time.sleep(max(0.0, exp + 6 - time.time()))  # past the verifier's 5 s leeway
        with pytest.raises(socketio.exceptions.ConnectionError):
            loop.run(ChatClient(oidc_stack.chat.url, old_token).connect())
        # ... while the page's answer goes on to the end, nothing lost, on the same socket.
        wait_answer_done(page, timeout=(tokens * TOKEN_MS / 1000 + 60) * 1000)
        assert assistant_texts(page) == [expected(question, tokens)]
        assert page.get_attribute("#conn", "data-state") == "connected"
        send(page, "And after the old token expired? [tokens:3]")
        wait_answer_done(page, 2)
        assert not problems.errors, problems.errors


def _scripted(loop: LoopThread, stack: Stack, token: str, texts: list[str]) -> list[Any]:
    async def run() -> list[Any]:
        c = await ChatClient(stack.chat.url, token).connect()
        try:
            conv = (await c.ok("conversation.create", {}))["conversation"]
            for i, text in enumerate(texts, 1):
                await c.ok("message.send", {"conversation_id": conv["id"],
                                            "client_message_id": uuid.uuid4().hex,
                                            "content": text})
                await c.wait_done(conv["id"], i)
            return await c.wait_done(conv["id"], len(texts))
        finally:
            await c.close()

    return loop.run(run(), timeout=120)


def _uid(keycloak: Keycloak, token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    return oidc_user_id(keycloak.issuer, claims["sub"])


def test_admin_page_counts_disables_and_limits(
    oidc_stack: Stack, keycloak: Keycloak, chromium: Browser, loop: LoopThread
) -> None:
    # A fresh stack state is not needed: each user's figures are checked by its own row.
    bob_token = keycloak.id_token("bob")
    answers = _scripted(loop, oidc_stack, bob_token, ["first [tokens:5]", "second [tokens:9]"])
    bob_id = _uid(keycloak, bob_token)
    with new_context(chromium) as context:
        page, problems = open_page(context, oidc_stack.ui.url)
        sign_in(page, "alice")
        assert page.is_visible("#user-btn")
        page.click("#user-btn")
        page.click("#admin-link")
        page.wait_for_selector("body[data-loaded]")
        screenshot(page, "admin")
        # Earlier tests of this module also chatted as bob: compare with the store's total.
        usage = httpx.get(oidc_stack.history.url + "/v1/usage", params={"group_by": "user"},
                          headers={"Authorization": f"Bearer {oidc_stack.internal_token}"},
                          timeout=10).json()["rows"]
        total = next(r for r in usage if r["key"] == bob_id)
        assert total["messages"] >= 2
        assert total["prompt_tokens"] >= sum(a["usage"]["prompt_tokens"] for a in answers)
        row = page.locator(f"#usage-user tr[data-key='{bob_id}']")
        assert row.locator(".key").inner_text() == NAMES["bob"]
        for field in ("messages", "prompt_tokens", "completion_tokens", "errors"):
            assert row.locator(f".{field}").inner_text() == str(total[field]), field
        user_row = page.locator(f"#users tr[data-user='{bob_id}']")
        assert user_row.locator(".tokens-today").inner_text() == str(
            total["prompt_tokens"] + total["completion_tokens"])
        assert int(page.locator("#live .connections").first.inner_text()) >= 1
        # Disable carol: her open socket closes within 2 s, and her sign-in is refused.
        carol_token = keycloak.id_token("carol")
        carol_id = _uid(keycloak, carol_token)
        carol = loop.run(ChatClient(oidc_stack.chat.url, carol_token).connect())
        gone = asyncio.Event()
        carol.sio.on("disconnect", lambda *_: loop.loop.call_soon(gone.set))
        page.click("#period button")  # refresh: carol is listed now
        page.wait_for_selector(f"#users tr[data-user='{carol_id}']")
        clicked = time.monotonic()
        page.click(f"#users tr[data-user='{carol_id}'] .toggle-disabled")
        loop.run(asyncio.wait_for(gone.wait(), 2.0))
        closed_after = time.monotonic() - clicked
        assert closed_after < 2.0, closed_after
        with new_context(chromium) as other:
            refused, _ = open_page(other, oidc_stack.ui.url)
            refused.get_by_role("button", name="Sign in", exact=True).click()
            refused.fill("#username", "carol")
            refused.fill("#password", PASSWORDS["carol"])
            refused.click("#kc-login")
            refused.wait_for_selector("#signin-error:not([hidden])")
            assert "disabled" in refused.inner_text("#signin-error")
        page.wait_for_selector(f"#users tr[data-user='{carol_id}'].disabled")
        page.click(f"#users tr[data-user='{carol_id}'] .toggle-disabled")  # enable again
        page.wait_for_selector(f"#users tr[data-user='{carol_id}']:not(.disabled)")
        # A per-user daily limit set on the page is enforced.
        dave_token = keycloak.id_token("dave")
        dave_id = _uid(keycloak, dave_token)
        _scripted(loop, oidc_stack, dave_token, ["warm up [tokens:3]"])
        page.click("#period button")
        page.wait_for_selector(f"#users tr[data-user='{dave_id}']")
        page.fill(f"#users tr[data-user='{dave_id}'] input", "1")
        page.click(f"#users tr[data-user='{dave_id}'] .set-limit")
        page.wait_for_function(
            "id => document.querySelector(`#users tr[data-user='${id}'] input`).value === '1'",
            arg=dave_id,
        )

        async def limited() -> dict[str, Any]:
            c = await ChatClient(oidc_stack.chat.url, keycloak.id_token("dave")).connect()
            try:
                conv = (await c.ok("conversation.create", {}))["conversation"]
                return await c.call("message.send", {"conversation_id": conv["id"],
                                                     "client_message_id": uuid.uuid4().hex,
                                                     "content": "over the limit"})
            finally:
                await c.close()

        ack = loop.run(limited())
        assert ack["ok"] is False and ack["error"]["code"] == "rate_limited", ack
        page.fill(f"#users tr[data-user='{dave_id}'] input", "0")
        page.click(f"#users tr[data-user='{dave_id}'] .set-limit")
        assert not problems.errors, problems.errors
