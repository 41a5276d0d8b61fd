"""The store interface of share links (``shares.py``), one per history backend."""

from __future__ import annotations

from typing import Protocol

from ..shares import ShareRecord


class SharesRepository(Protocol):
    """Raises ``chatbot_common.errors`` only (``UnavailableError`` when the store does not
    answer)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def add(self, share: ShareRecord) -> None: ...

    async def get(self, share_id: str) -> ShareRecord | None:
        """By id alone (the id is the secret); None when there is no such share."""

    async def list_for(self, user_id: str, conversation_id: str) -> list[ShareRecord]:
        """The user's shares of one conversation, newest first."""

    async def delete(self, user_id: str, share_id: str) -> bool:
        """Revoke: False when the user has no such share."""

    async def delete_for(self, user_id: str, conversation_id: str) -> None:
        """Every share of a conversation (it was deleted)."""
