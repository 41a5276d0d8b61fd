"""The store interface of users and usage (``accounts.py``), one per history backend."""

from __future__ import annotations

from typing import Protocol

from ..accounts import UsageCreate, UserRecord, UserSeen, UserUpdate


class AccountsRepository(Protocol):
    """Users and usage records. Raises ``chatbot_common.errors`` only (``NotFoundError`` for
    an unknown user, ``UnavailableError`` when the store does not answer)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def seen(self, user_id: str, data: UserSeen, now: str) -> UserRecord:
        """Create or refresh the user's record (``last_seen``, name); return it."""

    async def get_user(self, user_id: str) -> UserRecord: ...

    async def update_user(self, data: UserUpdate) -> UserRecord: ...

    async def list_users(self, limit: int, before: str | None) -> list[UserRecord]:
        """Most recently seen first; ``before`` is a ``last_seen`` cursor (exclusive)."""

    async def count_conversations(self, user_id: str) -> int: ...

    async def add_usage(self, record: UsageCreate) -> bool:
        """Store one answer's usage; False when that message was already recorded."""

    async def usage_between(self, start: str | None, end: str | None) -> list[UsageCreate]:
        """Usage records with ``start <= finished_at < end``."""

    async def set_feedback(self, message_id: str, rating: str | None) -> None:
        """The verdict on the answer ``message_id`` in its usage record (none: no-op)."""

    async def tokens_on(self, user_id: str, day: str) -> int:
        """Prompt plus completion tokens of the user's answers finished on ``day`` (UTC)."""
