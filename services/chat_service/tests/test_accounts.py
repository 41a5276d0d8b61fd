"""Accounts.seen: a connect waits for the user's record at most ``lookup_seconds``."""

from __future__ import annotations

import asyncio
from typing import Any

from chat_service.accounts import Accounts
from chatbot_common.tokens import User


class SlowHistory:
    """user_seen answers only once ``release`` is set (a store that is reconnecting)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0

    async def user_seen(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        await self.release.wait()
        return {"user_id": user_id, "disabled": True}


def _user() -> User:
    return User(id="u1", name="Ann", guest=False)


async def test_a_slow_store_does_not_hold_the_connect_and_the_visit_still_lands() -> None:
    history = SlowHistory()
    accounts = Accounts(history, cache_seconds=30, lookup_seconds=0.05)  # type: ignore[arg-type]
    assert await accounts.seen(_user()) is None  # nothing known yet: let in on what is known
    assert await accounts.seen(_user()) is None  # a reconnect joins the visit under way
    assert history.calls == 1
    history.release.set()
    await asyncio.wait_for(accounts.visits_recorded(), 30)  # the visit lands: cached
    assert await accounts.policy("u1") == {"user_id": "u1", "disabled": True}


async def test_a_prompt_store_decides_the_connect() -> None:
    history = SlowHistory()
    history.release.set()
    accounts = Accounts(history, cache_seconds=30, lookup_seconds=5)  # type: ignore[arg-type]
    assert await accounts.seen(_user()) == {"user_id": "u1", "disabled": True}
