"""Users and usage in MongoDB: collections ``users`` and ``usage`` beside the history.

``usage`` has one document per answer, ``_id`` = the message id (recording twice is a no-op),
indexed by ``finished_at`` (the admin's period queries) and ``{user_id, day}`` (tokens today).
``users`` is keyed by user id and indexed by ``last_seen``. Transient errors are retried like
the history's (``RetryPolicy``), then answered ``UnavailableError``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from chatbot_common.errors import NotFoundError
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..accounts import UsageCreate, UserRecord, UserSeen, UserUpdate
from ._mongo_support import Doc
from ._retry import RetryPolicy
from ._side_stores import MongoSideStore

T = TypeVar("T")
_USAGE_FIELDS = ("user_id", "conversation_id", "model", "status", "prompt_tokens",
                 "completion_tokens", "ttft_ms", "finished_at")


def _user(doc: Doc) -> UserRecord:
    return UserRecord(
        user_id=doc["_id"], name=doc.get("name"), guest=bool(doc.get("guest")),
        last_seen=doc["last_seen"], disabled=bool(doc.get("disabled")),
        tokens_per_day=doc.get("tokens_per_day"),
    )


class MongoAccountsRepository(MongoSideStore):
    NAME = "accounts"

    def __init__(self, db: AsyncDatabase[Doc], retry: RetryPolicy) -> None:
        super().__init__(db, retry)
        self.users = db["users"]
        self.usage = db["usage"]
        self.conversations = db["conversations"]

    async def _indexes(self) -> None:
        await self.users.create_index([("last_seen", DESCENDING)], name="last_seen")
        await self.usage.create_index([("finished_at", ASCENDING)], name="finished_at")
        await self.usage.create_index(
            [("user_id", ASCENDING), ("day", ASCENDING)], name="user_day"
        )

    async def seen(self, user_id: str, data: UserSeen, now: str) -> UserRecord:
        update: dict[str, Any] = {"$set": {"last_seen": now},
                                  "$setOnInsert": {"guest": data.guest, "disabled": False}}
        if data.name:
            update["$set"]["name"] = data.name
        doc = await self._do("user_seen", lambda: self.users.find_one_and_update(
            {"_id": user_id}, update, upsert=True, return_document=ReturnDocument.AFTER))
        assert doc is not None
        return _user(doc)

    async def get_user(self, user_id: str) -> UserRecord:
        doc = await self._do("get_user", lambda: self.users.find_one({"_id": user_id}))
        if doc is None:
            raise NotFoundError("no such user")
        return _user(doc)

    async def update_user(self, data: UserUpdate) -> UserRecord:
        changes: dict[str, Any] = {}
        if data.disabled is not None:
            changes["disabled"] = data.disabled
        if data.tokens_per_day is not None:
            changes["tokens_per_day"] = data.tokens_per_day or None
        if not changes:
            return await self.get_user(data.user_id)
        doc = await self._do("update_user", lambda: self.users.find_one_and_update(
            {"_id": data.user_id}, {"$set": changes}, return_document=ReturnDocument.AFTER))
        if doc is None:
            raise NotFoundError("no such user")
        return _user(doc)

    async def list_users(self, limit: int, before: str | None) -> list[UserRecord]:
        query: Doc = {} if before is None else {"last_seen": {"$lt": before}}

        async def run() -> list[Doc]:
            cursor = self.users.find(query).sort([("last_seen", DESCENDING), ("_id", ASCENDING)])
            return await cursor.limit(limit).to_list()

        return [_user(d) for d in await self._do("list_users", run)]

    async def count_conversations(self, user_id: str) -> int:
        return await self._do(
            "count_conversations", lambda: self.conversations.count_documents({"user_id": user_id})
        )

    async def add_usage(self, record: UsageCreate) -> bool:
        doc = {"_id": record.message_id, "day": record.day,
               **record.model_dump(include=set(_USAGE_FIELDS))}
        try:
            await self._do("add_usage", lambda: self.usage.insert_one(doc))
        except DuplicateKeyError:
            return False
        return True

    async def usage_between(self, start: str | None, end: str | None) -> list[UsageCreate]:
        window: Doc = {}
        if start:
            window["$gte"] = start
        if end:
            window["$lt"] = end
        query: Doc = {"finished_at": window} if window else {}

        async def run() -> list[Doc]:
            return await self.usage.find(query).to_list()

        docs = await self._do("usage_between", run)
        return [UsageCreate.model_validate(
            {"message_id": d["_id"], "feedback": d.get("feedback"),
             **{k: d.get(k) for k in _USAGE_FIELDS}}, strict=False)
            for d in docs]

    async def set_feedback(self, message_id: str, rating: str | None) -> None:
        await self._do(
            "set_feedback",
            lambda: self.usage.update_one({"_id": message_id}, {"$set": {"feedback": rating}}),
        )

    async def tokens_on(self, user_id: str, day: str) -> int:
        async def run() -> list[Doc]:
            return await self.usage.find(
                {"user_id": user_id, "day": day}, {"prompt_tokens": 1, "completion_tokens": 1}
            ).to_list()

        docs = await self._do("tokens_on", run)
        return sum(int(d.get("prompt_tokens", 0)) + int(d.get("completion_tokens", 0))
                   for d in docs)
