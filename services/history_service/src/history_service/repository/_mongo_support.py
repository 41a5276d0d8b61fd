"""MongoDB building blocks of the history store: client, documents, indexes."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from chatbot_common.errors import UnavailableError
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
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

from ..models import ConversationPublic, MessagePublic
from ..settings import HistorySettings
from ._retry import RetryPolicy

T = TypeVar("T")

Doc = dict[str, Any]

TRANSIENT: tuple[type[BaseException], ...] = (
    AutoReconnect,  # includes NetworkTimeout
    NetworkTimeout,
    ConnectionFailure,  # includes ServerSelectionTimeoutError
    ServerSelectionTimeoutError,
)
_MSG_FIELDS = (
    "conversation_id", "seq", "role", "content", "status", "created_at", "model", "usage",
    "client_message_id", "files", "parent_id", "feedback", "next_index",
    )  # fmt: skip


async def bounded(
    retry: RetryPolicy,
    operation: str,
    call: Callable[[], Awaitable[T]],
    before: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """One store operation (after ``before``, e.g. creating the indexes): transient errors
    retried with back-off, then ``UnavailableError``; an error MongoDB labels retryable is
    ``UnavailableError`` too; a duplicate key is the caller's to handle."""
    try:
        if before is not None:
            await before()
        return await retry.run(operation, call, TRANSIENT)
    except (DuplicateKeyError, UnavailableError):
        raise
    except PyMongoError as exc:
        if exc.has_error_label("RetryableError"):
            raise UnavailableError("the history store is unavailable") from exc
        raise


def conversation_from_doc(doc: Doc) -> ConversationPublic:
    return ConversationPublic(
        id=doc["_id"],
        title=doc["title"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        message_count=doc.get("message_count", 0),
        model=doc.get("model"),
        system_prompt=doc.get("system_prompt"),
        sampling=doc.get("sampling"),
    )


def message_from_doc(doc: Doc) -> MessagePublic:
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


def history_database(
    client: AsyncMongoClient[Doc], settings: HistorySettings
) -> AsyncDatabase[Doc]:
    """The database (from the URI, else ``MONGODB_DATABASE``) with our durability settings.

    The database handle carries the configured write concern (``w``, default
    "majority", and ``j``, default true: a write is acknowledged only once it is journaled on a
    majority, so an acked message survives a primary failover) and read concern (default
    "majority": reads never return writes that could be rolled back). ``retryWrites`` lets the
    driver retry a write once across a failover.
    """
    setting = settings.mongodb_write_concern
    w: int | str = int(setting) if setting.isdigit() else setting
    name = client.get_default_database(default=settings.mongodb_database).name
    return client.get_database(
        name,
        write_concern=WriteConcern(w=w, j=settings.mongodb_journal),
        read_concern=ReadConcern(settings.mongodb_read_concern),
    )


async def create_indexes(db: AsyncDatabase[Doc]) -> None:
    """Create the indexes (idempotent).

    - ``messages {user_id, conversation_id, seq}`` unique: two writers can never both store a
      ``seq``; the loser retries with the next one (see ``add_message``), so ``seq`` stays
      gapless without transactions (FerretDB has none).
    - ``messages {user_id, cmid}`` unique: the idempotency key. ``cmid`` is ``"c:" +
      client_message_id`` when the client sent one, else ``"m:" + the message id``, so messages
      without a client id never collide on a missing value (FerretDB has no partial indexes).
    - ``conversations {user_id, updated_at}`` for the sidebar; ``messages {status, updated_at}``
      for the crash-recovery sweep; ``messages {user_id, conversation_id, parent_id}`` for the
      versions of a message (its siblings, ``tree.py``).
    """
    await db["conversations"].create_index(
        [("user_id", ASCENDING), ("updated_at", DESCENDING)], name="user_updated"
    )
    await db["messages"].create_index(
        [("user_id", ASCENDING), ("conversation_id", ASCENDING), ("seq", ASCENDING)],
        name="user_conversation_seq",
        unique=True,
    )
    await db["messages"].create_index(
        [("user_id", ASCENDING), ("cmid", ASCENDING)], name="user_cmid", unique=True
    )
    await db["messages"].create_index(
        [("status", ASCENDING), ("updated_at", ASCENDING)], name="status_updated"
    )
    await db["messages"].create_index(
        [("user_id", ASCENDING), ("conversation_id", ASCENDING), ("parent_id", ASCENDING)],
        name="user_conversation_parent",
    )


class KeyedLocks:
    """One ``asyncio.Lock`` per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def __call__(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield
