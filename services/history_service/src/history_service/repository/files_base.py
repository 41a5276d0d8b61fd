"""The store interface of files attached to conversations, one per history backend."""

from __future__ import annotations

from typing import Protocol

from ..files import FileDetail, FilePublic


class FilesRepository(Protocol):
    """Files with their bytes, every call scoped by ``user_id``.

    A file belongs to one conversation of one user: another user's file id is simply not found
    (``NotFoundError``), as is a file of a deleted conversation. Raises ``chatbot_common.errors``
    only (``TooLargeError`` past the user's storage limit, ``UnavailableError`` when the store
    does not answer).
    """

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def add_file(
        self, user_id: str, file: FileDetail, data: bytes, max_user_bytes: int
    ) -> FilePublic:
        """Store the file (its conversation must be this user's) unless the user's files would
        then hold more than ``max_user_bytes`` (``TooLargeError``, nothing stored)."""

    async def get_file(self, user_id: str, file_id: str) -> FileDetail: ...

    async def read_data(self, user_id: str, file_id: str) -> tuple[FileDetail, bytes]: ...

    async def list_files(self, user_id: str, conversation_id: str) -> list[FilePublic]:
        """The conversation's files, oldest first."""

    async def delete_file(self, user_id: str, file_id: str) -> None: ...

    async def delete_conversation_files(self, user_id: str, conversation_id: str) -> int:
        """Delete every file of the conversation (its deletion calls this); how many."""

    async def user_bytes(self, user_id: str) -> int:
        """The bytes of all the user's files."""
