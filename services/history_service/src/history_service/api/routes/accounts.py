"""``/v1/me``, ``/v1/users`` and ``/v1/usage``: users and usage for the admin events.

Internal (the chat service's ``CHAT_INTERNAL_TOKEN``); the chat service checks who may call
what (admins only for the listings and updates).
"""

from __future__ import annotations

from typing import Annotated

from chatbot_common.contract import now_iso
from chatbot_common.errors import InvalidError
from fastapi import APIRouter, Query
from pydantic import BaseModel

from ...accounts import (
    GroupBy,
    UsageCreate,
    UsageSummary,
    UserPublic,
    UserRecord,
    UserSeen,
    UsersPublic,
    UserUpdate,
    check_period,
    period,
    summarise,
    today,
)
from ...repository import AccountsRepository
from ..deps import AccountsDep, InternalAuth, UserId

router = APIRouter(prefix="/v1", tags=["accounts"], dependencies=[InternalAuth])


class UsageStored(BaseModel):
    created: bool


async def _public(store: AccountsRepository, user: UserRecord) -> UserPublic:
    return UserPublic(
        **user.model_dump(),
        conversations=await store.count_conversations(user.user_id),
        tokens_today=await store.tokens_on(user.user_id, today()),
    )


@router.put("/me")
async def seen(user_id: UserId, body: UserSeen, store: AccountsDep) -> UserRecord:
    """The caller's user connected: ``last_seen`` now; its record (disabled? own limit?)."""
    return await store.seen(user_id, body, now_iso())


@router.get("/me")
async def me(user_id: UserId, store: AccountsDep) -> UserRecord:
    return await store.get_user(user_id)


@router.get("/users")
async def list_users(
    store: AccountsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
) -> UsersPublic:
    users = await store.list_users(limit, before)
    return UsersPublic(users=[await _public(store, u) for u in users])


@router.patch("/users")
async def update_user(body: UserUpdate, store: AccountsDep) -> UserPublic:
    return await _public(store, await store.update_user(body))


@router.post("/usage", status_code=201)
async def add_usage(body: UsageCreate, store: AccountsDep) -> UsageStored:
    return UsageStored(created=await store.add_usage(body))


@router.get("/usage")
async def usage(
    store: AccountsDep,
    group_by: GroupBy,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
) -> UsageSummary:
    try:
        check_period(since)
        check_period(until)
    except ValueError as exc:
        raise InvalidError(f"since/until: {exc}") from exc
    start, end = period(since, until)
    return UsageSummary(rows=summarise(await store.usage_between(start, end), group_by))


__all__ = ["UsageCreate", "router"]
