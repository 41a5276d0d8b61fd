"""The MongoDB store (``MONGODB_URI``), through PyMongo's asyncio API (``AsyncMongoClient``).

One document per conversation and one per message; indexes and durability settings are
explained in ``_mongo_support``.

Transient errors (``AutoReconnect``, ``NetworkTimeout``, ``ConnectionFailure``, server
selection timeouts) are retried a bounded number of times with capped, jittered back-off,
then raised as ``UnavailableError`` (HTTP 503: the chat service refuses the message instead
of acking it). The client reconnects by itself when the server is back.

Concurrency: every write touching a conversation runs under a per-conversation lock of this
replica: cheap, and it keeps the counters exact on FerretDB, whose updates are non-atomic
read-modify-writes (concurrent ``$inc`` get lost there, not on MongoDB). Across replicas,
``seq`` stays unique and gapless by the unique index and the retry loop alone.

Search: no ``$text`` on FerretDB, so a case-insensitive ``$regex`` on the escaped query over
the user's titles and messages. Trade-off: a scan of the user's messages (no index helps an
unanchored regex): fine for a chat history, not a corpus (next step: a text index).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from chatbot_common.contract import MessageStatus, Role, now_iso
from chatbot_common.errors import (
    NotFoundError,
    UnavailableError,
)
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..models import (
    ConversationCreate,
    ConversationPublic,
    ConversationUpdate,
    MessageCreate,
    MessagePublic,
    MessageUpdate,
    StreamingMessage,
)
from ..settings import HistorySettings
from ._common import regex_pattern
from ._mongo_support import (
    TRANSIENT,
    Doc,
    KeyedLocks,
    bounded,
    conversation_from_doc,
    create_indexes,
    history_database,
    message_from_doc,
)
from ._mongo_tree import ACTIVE, MongoVersions
from ._retry import RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How many seq collisions one insert may meet (each means another writer just stored one).
MAX_SEQ_ATTEMPTS = 500


class MongoHistoryRepository(MongoVersions):
    """``HistoryRepository`` on MongoDB (see the module docstring)."""

    name = "mongo"

    def __init__(self, client: AsyncMongoClient[Doc], settings: HistorySettings) -> None:
        self.client = client
        self.db: AsyncDatabase[Doc] = history_database(client, settings)
        self.conversations: AsyncCollection[Doc] = self.db["conversations"]
        self.messages: AsyncCollection[Doc] = self.db["messages"]
        self.retry = RetryPolicy(
            settings.store_retry_attempts,
            settings.store_retry_base_delay,
            settings.store_retry_max_delay,
        )
        self._indexes_ready = False
        self._indexes_lock = asyncio.Lock()
        self._writing = KeyedLocks()  # this replica's writers of a conversation, one at a time

    async def _do(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        return await bounded(self.retry, operation, call, before=self._ensure_indexes)

    async def open(self) -> None:
        """Create the indexes now, or (server down: start not ready) before the first use."""
        try:
            await self._ensure_indexes()
        except UnavailableError:
            log.warning("the store does not answer yet; indexes will be created on first use")

    async def _ensure_indexes(self) -> None:
        # Nothing runs before the unique indexes exist: they keep seq and cmid unique.
        if self._indexes_ready:
            return
        async with self._indexes_lock:
            if not self._indexes_ready:
                await self.retry.run("create_indexes", lambda: create_indexes(self.db), TRANSIENT)
                self._indexes_ready = True

    async def close(self) -> None:
        await self.client.close()

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        await self._ensure_indexes()
        return True

    # -- conversations ------------------------------------------------------------------

    async def create_conversation(
        self, user_id: str, data: ConversationCreate
    ) -> ConversationPublic:
        conv = data.new()
        doc: Doc = {"_id": conv.id, "user_id": user_id, **conv.model_dump(exclude={"id"}),
                    "last_seq": 0}
        await self._do("create_conversation", lambda: self.conversations.insert_one(doc))
        return conv

    async def list_conversations(
        self, user_id: str, limit: int, before: str | None = None
    ) -> list[ConversationPublic]:
        query: Doc = {"user_id": user_id}
        if before is not None:
            query["updated_at"] = {"$lt": before}

        async def run() -> list[Doc]:
            cur = self.conversations.find(query).sort(
                [("updated_at", DESCENDING), ("_id", DESCENDING)]
            )
            return await cur.limit(limit).to_list()

        return [conversation_from_doc(d) for d in await self._do("list_conversations", run)]

    async def search_conversations(
        self, user_id: str, query: str, limit: int
    ) -> list[ConversationPublic]:
        regex = {"$regex": regex_pattern(query), "$options": "i"}

        async def run() -> list[Doc]:
            ids = await self.messages.distinct(
                "conversation_id", {"user_id": user_id, "content": regex}
            )
            cur = self.conversations.find(
                {"user_id": user_id, "$or": [{"title": regex}, {"_id": {"$in": ids}}]}
            ).sort([("updated_at", DESCENDING), ("_id", DESCENDING)])
            return await cur.limit(limit).to_list()

        return [conversation_from_doc(d) for d in await self._do("search_conversations", run)]

    async def _conversation_doc(self, user_id: str, conversation_id: str) -> Doc:
        doc = await self._do(
            "get_conversation",
            # By _id alone: the one filter FerretDB answers from an index (it scans the
            # collection for any other); the owner is checked here and never changes.
            lambda: self.conversations.find_one({"_id": conversation_id}),
        )
        if doc is None or doc.get("user_id") != user_id:
            raise NotFoundError("no such conversation")
        return doc

    async def get_conversation(self, user_id: str, conversation_id: str) -> ConversationPublic:
        return conversation_from_doc(await self._conversation_doc(user_id, conversation_id))

    async def update_conversation(
        self, user_id: str, conversation_id: str, data: ConversationUpdate
    ) -> ConversationPublic:
        async with self._writing(conversation_id):
            fields = data.changes()
            current = await self._conversation_doc(user_id, conversation_id)
            if not fields:
                return conversation_from_doc(current)
            doc = await self._do(
                "update_conversation",
                lambda: self.conversations.find_one_and_update(
                    {"_id": conversation_id},
                    {"$set": fields},
                    return_document=ReturnDocument.AFTER,
                ),
            )
            if doc is None:
                raise NotFoundError("no such conversation")
            return conversation_from_doc(doc)

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        async with self._writing(conversation_id):
            await self._conversation_doc(user_id, conversation_id)
            res = await self._do(
                "delete_conversation",
                lambda: self.conversations.delete_one({"_id": conversation_id}),
            )
            if res.deleted_count == 0:
                raise NotFoundError("no such conversation")
            await self._do(
                "delete_conversation",
                lambda: self.messages.delete_many(
                    {"user_id": user_id, "conversation_id": conversation_id}
                ),
            )

    # -- messages -----------------------------------------------------------------------

    async def list_messages(
        self, user_id: str, conversation_id: str, after_seq: int | None, limit: int
    ) -> list[MessagePublic]:
        # The active branch only (see tree.py), with the versions of its messages.
        conv = await self._conversation_doc(user_id, conversation_id)
        scope: Doc = {"user_id": user_id, "conversation_id": conversation_id, **ACTIVE}

        async def find(query: Doc, direction: int, n: int) -> list[Doc]:
            # A fresh cursor per attempt: a retry of a cursor that failed (a server restart)
            # read nothing and returned [], so an answer got an empty context.
            return await self._do(
                "list_messages",
                lambda: self.messages.find(query).sort("seq", direction).limit(n).to_list(),
            )

        if after_seq is not None:
            docs = await find({**scope, "seq": {"$gt": after_seq}}, ASCENDING, limit)
        else:
            # The last `limit`: seq has no gaps, so a range on seq finds them without sorting
            # the whole conversation; a short answer (a message deleted, or off the active
            # branch) falls back to the sort.
            first = int(conv.get("last_seq", 0)) - limit
            docs = await find({**scope, "seq": {"$gt": first}}, ASCENDING, limit)
            if len(docs) < limit and first > 0:
                docs = (await find(scope, DESCENDING, limit))[::-1]
        found = [message_from_doc(d) for d in docs]
        if int(conv.get("last_seq", 0)) == int(conv.get("message_count", 0)):
            return found  # every stored message is shown: no versions (tree.py)
        return await self._with_versions(user_id, conversation_id, found)

    async def _message_doc(self, user_id: str, conversation_id: str, message_id: str) -> Doc:
        doc = await self._do(
            "get_message",
            lambda: self.messages.find_one({"_id": message_id}),  # by _id alone, as above
        )
        if doc is None or (doc["user_id"], doc["conversation_id"]) != (user_id, conversation_id):
            raise NotFoundError("no such message")
        return doc

    async def add_message(
        self, user_id: str, conversation_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        """Insert with seq = last_seq + 1; on a collision on seq, try the next one.

        A seq ``k`` is tried only when ``k - 1`` is known to exist (it is ``last_seq`` or it
        just collided), so the sequence has no gaps; the unique index makes it race-free.
        A collision on ``cmid`` is an idempotent repeat: the stored message is returned.
        """
        async with self._writing(conversation_id):
            conv = await self._conversation_doc(user_id, conversation_id)
            return await self._insert(conv, user_id, conversation_id, data)

    async def _insert(
        self, conv: Doc, user_id: str, conversation_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        """``add_message`` with the conversation's lock held; the parent is the active
        branch's last message."""
        message = data.new(conversation_id, seq=int(conv.get("last_seq", 0)) + 1)
        if conv.get("last_seq", 0):
            parent = await self._leaf(conv, user_id, conversation_id)
            message = message.model_copy(update={"parent_id": parent})
        mid, now = message.id, message.created_at
        cmid = f"c:{data.client_message_id}" if data.client_message_id else f"m:{mid}"
        doc: Doc = {
            "_id": mid, **message.model_dump(exclude={"id", "versions"}), "user_id": user_id,
            "cmid": cmid, "active": True, "updated_at": now,
        }  # fmt: skip
        for _ in range(MAX_SEQ_ATTEMPTS):
            try:
                await self._do("add_message", lambda: self.messages.insert_one(doc))
                break
            except DuplicateKeyError:
                existing = await self._do(
                    "add_message",
                    lambda: self.messages.find_one({"user_id": user_id, "cmid": cmid}),
                )
                if existing is not None and existing["_id"] == mid:
                    break  # our own insert, acknowledged late (a retried network error)
                if existing is not None:
                    return await self._repeat(data, conversation_id, existing), False
                conv = await self._conversation_doc(user_id, conversation_id)
                doc["seq"] = max(int(conv.get("last_seq", 0)), doc["seq"]) + 1
                doc["parent_id"] = await self._parent_of_new(user_id, conversation_id)
        else:
            raise UnavailableError("too many concurrent writers on this conversation")
        res = await self._do(
            "add_message",
            lambda: self.conversations.update_one(
                {"_id": conversation_id},
                {
                    "$inc": {"message_count": 1},
                    "$max": {"last_seq": doc["seq"], "updated_at": now},
                    "$set": {"leaf_id": mid},  # the next message's parent
                },
            ),
        )
        if res.matched_count == 0:  # deleted meanwhile: leave no orphan behind
            await self._do("add_message", lambda: self.messages.delete_one({"_id": mid}))
            raise NotFoundError("no such conversation")
        return message_from_doc(doc), True

    async def _repeat(
        self, data: MessageCreate, conversation_id: str, existing: Doc
    ) -> MessagePublic:
        message = data.repeat(message_from_doc(existing), conversation_id)
        # If the first attempt died between its insert and the conversation update, this
        # brings last_seq up to date (idempotent).
        await self._do(
            "add_message",
            lambda: self.conversations.update_one(
                {"_id": conversation_id}, {"$max": {"last_seq": existing["seq"]}}
            ),
        )
        return message

    async def update_message(
        self, user_id: str, conversation_id: str, message_id: str, data: MessageUpdate
    ) -> MessagePublic:
        async with self._writing(conversation_id):
            fields = {**data.changes(), "updated_at": now_iso()}
            current = await self._message_doc(user_id, conversation_id, message_id)
            expected = data.expect_status
            doc: Doc | None = None
            if data.allows(current["status"]):
                # The status is checked above (cheap) and in the filter (atomic on MongoDB).
                query = (
                    {"_id": message_id}
                    if expected is None
                    else {"_id": message_id, "status": expected}
                )
                doc = await self._do(
                    "update_message",
                    lambda: self.messages.find_one_and_update(
                        query, {"$set": fields}, return_document=ReturnDocument.AFTER
                    ),
                )
            if doc is None:
                current = await self._message_doc(user_id, conversation_id, message_id)
                raise data.conflict(current["status"])
            return message_from_doc(doc)

    async def save_text(
        self, user_id: str, conversation_id: str, message_id: str, content: str,
        next_index: int | None,
    ) -> bool:
        query = {"_id": message_id, "status": MessageStatus.STREAMING, "user_id": user_id,
                 "conversation_id": conversation_id}
        text = {"content": content, "next_index": next_index, "updated_at": now_iso()}
        done = await self._do(
            "save_text", lambda: self.messages.update_one(query, {"$set": text})
        )
        return bool(done.matched_count)

    async def delete_message(self, user_id: str, conversation_id: str, message_id: str) -> None:
        async with self._writing(conversation_id):
            doc = await self._message_doc(user_id, conversation_id, message_id)
            deleted = await self._do(
                "delete_message", lambda: self.messages.delete_one({"_id": message_id})
            )
            if deleted.deleted_count == 0:
                raise NotFoundError("no such message")
            seq = doc["seq"]
            shown = -1 if doc.get("active", True) else 0  # message_count: the active branch
            # Deleting the last message (regenerate) gives its seq back, keeping seq gapless.
            res = await self._do(
                "delete_message",
                lambda: self.conversations.update_one(
                    {"_id": conversation_id, "last_seq": seq},
                    {"$inc": {"message_count": shown, "last_seq": -1},
                     "$unset": {"leaf_id": ""}},
                ),
            )
            if res.matched_count == 0:
                await self._do(
                    "delete_message",
                    lambda: self.conversations.update_one(
                        {"_id": conversation_id},
                        {"$inc": {"message_count": shown}, "$unset": {"leaf_id": ""}},
                    ),
                )

    async def list_streaming_messages(
        self, updated_before: str | None, limit: int
    ) -> list[StreamingMessage]:
        query: Doc = {"status": MessageStatus.STREAMING, "role": Role.ASSISTANT}
        if updated_before is not None:
            query["updated_at"] = {"$lt": updated_before}

        async def run() -> list[Doc]:
            cur = self.messages.find(query).sort("updated_at", ASCENDING).limit(limit)
            return await cur.to_list()

        return [
            StreamingMessage(**message_from_doc(d).model_dump(), user_id=d["user_id"])
            for d in await self._do("list_streaming_messages", run)
        ]
