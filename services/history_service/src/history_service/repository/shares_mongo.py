"""Share links in MongoDB: collection ``shares`` (``_id`` = the share id, the snapshot as a
sub-document), indexed by ``{user_id, conversation_id}``. Retries like the history's."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from chatbot_common.errors import UnavailableError
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from ..shares import ShareRecord
from ._mongo_support import TRANSIENT, Doc
from ._retry import RetryPolicy

T = TypeVar("T")


def _share(doc: Doc) -> ShareRecord:
    return ShareRecord.model_validate({**doc, "id": doc["_id"]})


class MongoSharesRepository:
    def __init__(self, db: AsyncDatabase[Doc], retry: RetryPolicy) -> None:
        self.shares = db["shares"]
        self.retry = retry
        self._indexes_ready = False

    async def _do(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            if not self._indexes_ready:
                await self.retry.run("shares_indexes", self._indexes, TRANSIENT)
                self._indexes_ready = True
            return await self.retry.run(operation, call, TRANSIENT)
        except UnavailableError:
            raise
        except PyMongoError as exc:
            if exc.has_error_label("RetryableError"):
                raise UnavailableError("the history store is unavailable") from exc
            raise

    async def _indexes(self) -> None:
        await self.shares.create_index(
            [("user_id", ASCENDING), ("conversation_id", ASCENDING)], name="user_conversation"
        )

    async def open(self) -> None:
        with contextlib.suppress(UnavailableError):  # else: indexes before the first use
            await self._do("shares_open", lambda: self.shares.find_one({"_id": ""}))

    async def close(self) -> None:
        return None  # the client belongs to the history store

    async def add(self, share: ShareRecord) -> None:
        doc = {"_id": share.id, **share.model_dump(exclude={"id"})}
        await self._do("add_share", lambda: self.shares.insert_one(doc))

    async def get(self, share_id: str) -> ShareRecord | None:
        doc = await self._do("get_share", lambda: self.shares.find_one({"_id": share_id}))
        return _share(doc) if doc else None

    async def list_for(self, user_id: str, conversation_id: str) -> list[ShareRecord]:
        async def run() -> list[Doc]:
            return await self.shares.find(
                {"user_id": user_id, "conversation_id": conversation_id}
            ).sort("created_at", DESCENDING).to_list()

        return [_share(d) for d in await self._do("list_shares", run)]

    async def delete(self, user_id: str, share_id: str) -> bool:
        done = await self._do(
            "delete_share",
            lambda: self.shares.delete_one({"_id": share_id, "user_id": user_id}),
        )
        return done.deleted_count > 0

    async def delete_for(self, user_id: str, conversation_id: str) -> None:
        await self._do(
            "delete_shares",
            lambda: self.shares.delete_many(
                {"user_id": user_id, "conversation_id": conversation_id}
            ),
        )
