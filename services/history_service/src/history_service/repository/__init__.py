"""History stores: the embedded SQLite default, or MongoDB when ``MONGODB_URI`` is set."""

from __future__ import annotations

import functools
import inspect
import time
from typing import Any, cast

from chatbot_common.errors import UnavailableError

from ..metrics import MESSAGES_STORED, OPERATION_DURATION, STORE_UP
from ..settings import HistorySettings
from .accounts_base import AccountsRepository
from .base import HistoryRepository
from .files_base import FilesRepository
from .shares_base import SharesRepository

__all__ = [
    "AccountsRepository", "FilesRepository", "HistoryRepository", "SharesRepository",
    "create_files_repository", "create_repository", "create_shares_repository", "create_stores",
    "instrumented",
]


def create_stores(
    settings: HistorySettings,
) -> tuple[HistoryRepository, AccountsRepository, FilesRepository, SharesRepository]:
    """The history store, the users/usage, files and share-link stores beside it (one MongoDB
    client for all)."""
    if settings.mongodb_uri:
        from ._mongo_support import create_client, history_database
        from .accounts_mongo import MongoAccountsRepository
        from .mongo import MongoHistoryRepository

        client = create_client(settings)
        return (
            instrumented(MongoHistoryRepository(client, settings)),
            MongoAccountsRepository(history_database(client, settings), _retry_policy(settings)),
            create_files_repository(settings, client),
            create_shares_repository(settings, client),
        )
    from .accounts_sqlite import SqliteAccountsRepository

    path = settings.state_dir / "history.sqlite3"
    return (
        create_repository(settings),
        SqliteAccountsRepository(path, settings.sqlite_busy_timeout_ms),
        create_files_repository(settings),
        create_shares_repository(settings),
    )


def _retry_policy(settings: HistorySettings) -> Any:
    from ._retry import RetryPolicy

    return RetryPolicy(
        settings.store_retry_attempts,
        settings.store_retry_base_delay,
        settings.store_retry_max_delay,
    )


def create_files_repository(settings: HistorySettings, client: Any = None) -> FilesRepository:
    """The files store of the selected backend (MongoDB: on ``client``, else a new one)."""
    if settings.mongodb_uri:
        from ._mongo_support import create_client, history_database
        from .files_mongo import MongoFilesRepository

        db = history_database(client or create_client(settings), settings)
        return MongoFilesRepository(db, _retry_policy(settings))
    from .files_sqlite import SqliteFilesRepository

    path = settings.state_dir / "history.sqlite3"
    return SqliteFilesRepository(path, settings.sqlite_busy_timeout_ms)


def create_shares_repository(settings: HistorySettings, client: Any = None) -> SharesRepository:
    """The share-link store of the selected backend (MongoDB: on ``client``, else a new one)."""
    if settings.mongodb_uri:
        from ._mongo_support import create_client, history_database
        from .shares_mongo import MongoSharesRepository

        db = history_database(client or create_client(settings), settings)
        return MongoSharesRepository(db, _retry_policy(settings))
    from .shares_sqlite import SqliteSharesRepository

    return SqliteSharesRepository(
        settings.state_dir / "history.sqlite3", settings.sqlite_busy_timeout_ms
    )


def create_repository(settings: HistorySettings) -> HistoryRepository:
    """The store the settings select (not opened yet: call ``open()`` in the lifespan)."""
    if settings.mongodb_uri:
        from ._mongo_support import create_client
        from .mongo import MongoHistoryRepository

        return instrumented(MongoHistoryRepository(create_client(settings), settings))
    from .sqlite import SqliteHistoryRepository

    return instrumented(
        SqliteHistoryRepository(
            settings.state_dir / "history.sqlite3", settings.sqlite_busy_timeout_ms
        )
    )


class _Instrumented:
    """Times every store call and keeps ``history_store_up`` and the message counter.

    Each operation's wrapper (and its metric children) is made on first use and kept: a turn
    makes five store calls, and making them anew cost a signature check, a ``functools.wraps``
    and two label lookups per call."""

    def __init__(self, inner: HistoryRepository) -> None:
        self.inner = inner  # the store itself (tests reach its client through it)
        self.name = inner.name

    def __getattr__(self, operation: str) -> Any:
        attr = getattr(self.inner, operation)
        if not inspect.iscoroutinefunction(attr):
            return attr
        inner, store = self.inner, self.name
        duration = OPERATION_DURATION.labels(operation, store)
        up = STORE_UP.labels(store)
        keeps_up = operation not in ("open", "close")  # open() may start with the store down
        counts = operation == "add_message"

        @functools.wraps(attr)
        async def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                # looked up per call: a store's method replaced later is the one called
                result = await getattr(inner, operation)(*args, **kwargs)
            except UnavailableError:
                up.set(0)
                raise
            finally:
                duration.observe(time.perf_counter() - start)
            if keeps_up:
                up.set(1)
            if counts and result[1]:
                MESSAGES_STORED.labels(result[0].role).inc()
            return result

        self.__dict__[operation] = call  # __getattr__ is not called for it again
        return call


def instrumented(repo: HistoryRepository) -> HistoryRepository:
    return cast(HistoryRepository, _Instrumented(repo))
