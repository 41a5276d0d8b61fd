"""The MongoDB store (``MONGODB_URI``), through PyMongo's asyncio API (``AsyncMongoClient``).

One document per conversation and one per message. Indexes:

- ``messages {user_id, conversation_id, seq}`` unique: two writers can never both store a
  ``seq``; the loser retries with the next one (see ``add_message``), so ``seq`` stays
  gapless without transactions (FerretDB has none).
- ``messages {user_id, cmid}`` unique: the idempotency key. ``cmid`` is ``"c:" +
  client_message_id`` when the client sent one, else ``"m:" + the message id``, so messages
  without a client id never collide on a missing value (FerretDB has no partial indexes).
- ``conversations {user_id, updated_at}`` for the sidebar; ``messages {status, updated_at}``
  for the crash-recovery sweep.

Durability: the database handle carries the configured write concern (``w``, default
"majority", and ``j``, default true: a write is acknowledged only once it is journaled on a
majority, so an acked message survives a primary failover) and read concern (default
"majority": reads never return writes that could be rolled back). ``retryWrites`` lets the
driver retry a write once across a failover.

Transient errors (``AutoReconnect`` / ``NetworkTimeout`` / ``ConnectionFailure`` /
``ServerSelectionTimeoutError``, and any error labelled ``RetryableError``) are retried per
operation a bounded number of times with capped, jittered back-off, then raised as
``UnavailableError`` (HTTP 503): the chat service then refuses the message instead of
acknowledging it. The client reconnects by itself when the server is back.

Concurrency: every write that touches a conversation document (messages added, changed or
deleted; rename; delete) runs under a per-conversation ``asyncio.Lock`` of this replica.
That is cheap (one conversation rarely has two writers) and keeps the counters exact on
FerretDB, whose updates are a non-atomic read-modify-write (concurrent ``$inc`` are lost
there; on MongoDB they are atomic). Across replicas, ``seq`` stays unique and gapless by the
unique index and the retry loop alone.

Search: MongoDB's ``$text`` does not exist on FerretDB, so search is a case-insensitive
``$regex`` on the escaped query over the user's titles and message contents. Every query is
scoped by ``user_id``. Trade-off: it is a scan of that user's messages (no index helps an
unanchored regex), fine for a chat history, not for a corpus; on a real MongoDB a text or
Atlas Search index would be the next step.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from chatbot_common.errors import (
    ConflictError,
    InvalidError,
    NotFoundError,
    UnavailableError,
)
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    DuplicateKeyError,
    NetworkTimeout,
    PyMongoError,
    ServerSelectionTimeoutError,
)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from ..models import (
    ConversationCreate,
    ConversationPublic,
    ConversationUpdate,
    MessageCreate,
    MessagePublic,
    MessageUpdate,
    new_id,
    now_iso,
)
from ..settings import HistorySettings
from ._common import DEFAULT_TITLE, regex_pattern
from ._retry import RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")
Doc = dict[str, Any]

TRANSIENT: tuple[type[BaseException], ...] = (
    AutoReconnect,  # includes NetworkTimeout
    NetworkTimeout,
    ConnectionFailure,  # includes ServerSelectionTimeoutError
    ServerSelectionTimeoutError,
)
#: How many seq collisions one insert may meet (each means another writer just stored one).
MAX_SEQ_ATTEMPTS = 500

_MSG_FIELDS = (
    "conversation_id", "seq", "role", "content", "status", "created_at", "model", "usage",
    "client_message_id",
)  # fmt: skip


def _conversation(doc: Doc) -> ConversationPublic:
    return ConversationPublic(
        id=doc["_id"],
        title=doc["title"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        message_count=doc.get("message_count", 0),
        model=doc.get("model"),
        system_prompt=doc.get("system_prompt"),
    )


def _message(doc: Doc) -> MessagePublic:
    return MessagePublic.model_validate({"id": doc["_id"], **{k: doc.get(k) for k in _MSG_FIELDS}})


def create_client(settings: HistorySettings) -> AsyncMongoClient[Doc]:
    """The client (a connection pool); created in the lifespan, closed there."""
    assert settings.mongodb_uri
    return AsyncMongoClient(
        settings.mongodb_uri,
        maxPoolSize=settings.mongodb_max_pool_size,
        minPoolSize=settings.mongodb_min_pool_size,
        serverSelectionTimeoutMS=settings.mongodb_server_selection_timeout_ms,
        connectTimeoutMS=settings.mongodb_connect_timeout_ms,
        socketTimeoutMS=settings.mongodb_socket_timeout_ms,
        retryWrites=settings.mongodb_retry_writes,
        appname="history_service",
        tz_aware=True,
    )


class MongoHistoryRepository:
    """``HistoryRepository`` on MongoDB (see the module docstring)."""

    name = "mongo"

    def __init__(self, client: AsyncMongoClient[Doc], settings: HistorySettings) -> None:
        self.client = client
        w: int | str = settings.mongodb_write_concern
        if isinstance(w, str) and w.isdigit():
            w = int(w)
        default_db = client.get_default_database(default=settings.mongodb_database)
        self.db: AsyncDatabase[Doc] = client.get_database(
            default_db.name,
            write_concern=WriteConcern(w=w, j=settings.mongodb_journal),
            read_concern=ReadConcern(settings.mongodb_read_concern),
        )
        self.conversations: AsyncCollection[Doc] = self.db["conversations"]
        self.messages: AsyncCollection[Doc] = self.db["messages"]
        self.retry = RetryPolicy(
            settings.store_retry_attempts,
            settings.store_retry_base_delay,
            settings.store_retry_max_delay,
        )
        self._indexes_ready = False
        self._indexes_lock = asyncio.Lock()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def _writing(self, conversation_id: str) -> AsyncIterator[None]:
        """This replica's writers of one conversation, one at a time."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        async with lock:
            yield

    async def _do(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            await self._ensure_indexes()
            return await self.retry.run(operation, call, TRANSIENT)
        except (DuplicateKeyError, UnavailableError):
            raise
        except PyMongoError as exc:
            if exc.has_error_label("RetryableError"):
                raise UnavailableError("the history store is unavailable") from exc
            raise

    async def open(self) -> None:
        """Create the indexes now if the server answers, else before the first operation.

        The service starts (not ready) while the store is down and recovers by itself.
        """
        try:
            await self._ensure_indexes()
        except UnavailableError:
            log.warning("the store does not answer yet; indexes will be created on first use")

    async def _ensure_indexes(self) -> None:
        # No operation runs before the unique indexes exist: they are what keeps seq and
        # the idempotency key unique.
        if self._indexes_ready:
            return
        async with self._indexes_lock:
            if not self._indexes_ready:
                await self.retry.run("create_indexes", self._create_indexes, TRANSIENT)
                self._indexes_ready = True

    async def _create_indexes(self) -> None:
        await self.conversations.create_index(
            [("user_id", ASCENDING), ("updated_at", DESCENDING)], name="user_updated"
        )
        await self.messages.create_index(
            [("user_id", ASCENDING), ("conversation_id", ASCENDING), ("seq", ASCENDING)],
            name="user_conversation_seq",
            unique=True,
        )
        await self.messages.create_index(
            [("user_id", ASCENDING), ("cmid", ASCENDING)], name="user_cmid", unique=True
        )
        await self.messages.create_index(
            [("status", ASCENDING), ("updated_at", ASCENDING)], name="status_updated"
        )

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
        now = now_iso()
        doc: Doc = {
            "_id": new_id(),
            "user_id": user_id,
            "title": data.title or DEFAULT_TITLE,
            "system_prompt": data.system_prompt,
            "model": data.model,
            "created_at": now,
            "updated_at": now,
            "message_count": 0,
            "last_seq": 0,
        }
        await self._do("create_conversation", lambda: self.conversations.insert_one(doc))
        return _conversation(doc)

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

        return [_conversation(d) for d in await self._do("list_conversations", run)]

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

        return [_conversation(d) for d in await self._do("search_conversations", run)]

    async def _conversation_doc(self, user_id: str, conversation_id: str) -> Doc:
        doc = await self._do(
            "get_conversation",
            lambda: self.conversations.find_one({"_id": conversation_id, "user_id": user_id}),
        )
        if doc is None:
            raise NotFoundError("no such conversation")
        return doc

    async def get_conversation(self, user_id: str, conversation_id: str) -> ConversationPublic:
        return _conversation(await self._conversation_doc(user_id, conversation_id))

    async def update_conversation(
        self, user_id: str, conversation_id: str, data: ConversationUpdate
    ) -> ConversationPublic:
        async with self._writing(conversation_id):
            fields = data.model_dump(exclude_unset=True)
            if fields.get("title") is None:
                fields.pop("title", None)  # a conversation always has a title
            if not fields:
                return await self.get_conversation(user_id, conversation_id)
            doc = await self._do(
                "update_conversation",
                lambda: self.conversations.find_one_and_update(
                    {"_id": conversation_id, "user_id": user_id},
                    {"$set": fields},
                    return_document=ReturnDocument.AFTER,
                ),
            )
            if doc is None:
                raise NotFoundError("no such conversation")
            return _conversation(doc)

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        async with self._writing(conversation_id):
            res = await self._do(
                "delete_conversation",
                lambda: self.conversations.delete_one({"_id": conversation_id, "user_id": user_id}),
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
        conv = await self._conversation_doc(user_id, conversation_id)
        scope: Doc = {"user_id": user_id, "conversation_id": conversation_id}

        async def find(query: Doc, direction: int, n: int) -> list[Doc]:
            cur = self.messages.find(query).sort("seq", direction).limit(n)
            return await self._do("list_messages", cur.to_list)

        if after_seq is not None:
            docs = await find({**scope, "seq": {"$gt": after_seq}}, ASCENDING, limit)
            return [_message(d) for d in docs]
        # The last `limit`: seq has no gaps, so a range on seq finds them without sorting the
        # whole conversation; a short answer (a message was deleted) falls back to the sort.
        first = int(conv.get("last_seq", 0)) - limit
        docs = await find({**scope, "seq": {"$gt": first}}, ASCENDING, limit)
        if len(docs) < limit and first > 0:
            docs = (await find(scope, DESCENDING, limit))[::-1]
        return [_message(d) for d in docs]

    async def _message_doc(self, user_id: str, conversation_id: str, message_id: str) -> Doc:
        doc = await self._do(
            "get_message",
            lambda: self.messages.find_one(
                {"_id": message_id, "user_id": user_id, "conversation_id": conversation_id}
            ),
        )
        if doc is None:
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
            now = now_iso()
            mid = new_id()
            cmid = f"c:{data.client_message_id}" if data.client_message_id else f"m:{mid}"
            doc: Doc = {
                "_id": mid,
                "conversation_id": conversation_id,
                "user_id": user_id,
                "seq": int(conv.get("last_seq", 0)) + 1,
                "role": data.role,
                "content": data.content,
                "status": data.status,
                "model": data.model,
                "usage": data.usage.model_dump() if data.usage else None,
                "client_message_id": data.client_message_id,
                "cmid": cmid,
                "created_at": now,
                "updated_at": now,
            }
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
                        return await self._repeat(conversation_id, existing), False
                    conv = await self._conversation_doc(user_id, conversation_id)
                    doc["seq"] = max(int(conv.get("last_seq", 0)), doc["seq"]) + 1
            else:
                raise UnavailableError("too many concurrent writers on this conversation")
            res = await self._do(
                "add_message",
                lambda: self.conversations.update_one(
                    {"_id": conversation_id, "user_id": user_id},
                    {
                        "$inc": {"message_count": 1},
                        "$max": {"last_seq": doc["seq"], "updated_at": now},
                    },
                ),
            )
            if res.matched_count == 0:  # deleted meanwhile: leave no orphan behind
                await self._do("add_message", lambda: self.messages.delete_one({"_id": mid}))
                raise NotFoundError("no such conversation")
            return _message(doc), True

    async def _repeat(self, conversation_id: str, existing: Doc) -> MessagePublic:
        if existing["conversation_id"] != conversation_id:
            raise InvalidError("client_message_id was used in another conversation")
        # If the first attempt died between its insert and the conversation update, this
        # brings last_seq up to date (idempotent).
        await self._do(
            "add_message",
            lambda: self.conversations.update_one(
                {"_id": conversation_id}, {"$max": {"last_seq": existing["seq"]}}
            ),
        )
        return _message(existing)

    async def update_message(
        self, user_id: str, conversation_id: str, message_id: str, data: MessageUpdate
    ) -> MessagePublic:
        async with self._writing(conversation_id):
            fields = data.model_dump(exclude_unset=True, exclude={"expect_status"})
            fields = {k: v for k, v in fields.items() if v is not None or k in ("usage", "model")}
            fields["updated_at"] = now_iso()
            query: Doc = {"_id": message_id, "user_id": user_id, "conversation_id": conversation_id}
            if data.expect_status is not None:
                query["status"] = data.expect_status
            doc = await self._do(
                "update_message",
                lambda: self.messages.find_one_and_update(
                    query, {"$set": fields}, return_document=ReturnDocument.AFTER
                ),
            )
            if doc is None:
                current = await self._message_doc(user_id, conversation_id, message_id)
                raise ConflictError(
                    f"the message is {current['status']}, not {data.expect_status}",
                    status=current["status"],
                )
            return _message(doc)

    async def delete_message(self, user_id: str, conversation_id: str, message_id: str) -> None:
        async with self._writing(conversation_id):
            doc = await self._do(
                "delete_message",
                lambda: self.messages.find_one_and_delete(
                    {"_id": message_id, "user_id": user_id, "conversation_id": conversation_id}
                ),
            )
            if doc is None:
                raise NotFoundError("no such message")
            seq = doc["seq"]
            # Deleting the last message (regenerate) gives its seq back, keeping seq gapless.
            res = await self._do(
                "delete_message",
                lambda: self.conversations.update_one(
                    {"_id": conversation_id, "last_seq": seq},
                    {"$inc": {"message_count": -1, "last_seq": -1}},
                ),
            )
            if res.matched_count == 0:
                await self._do(
                    "delete_message",
                    lambda: self.conversations.update_one(
                        {"_id": conversation_id}, {"$inc": {"message_count": -1}}
                    ),
                )

    async def list_streaming_messages(
        self, updated_before: str | None, limit: int
    ) -> list[MessagePublic]:
        query: Doc = {"status": "streaming", "role": "assistant"}
        if updated_before is not None:
            query["updated_at"] = {"$lt": updated_before}

        async def run() -> list[Doc]:
            cur = self.messages.find(query).sort("updated_at", ASCENDING).limit(limit)
            return await cur.to_list()

        return [_message(d) for d in await self._do("list_streaming_messages", run)]
