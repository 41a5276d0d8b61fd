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
from .shares_base import SharesRepository

__all__ = [
    "AccountsRepository", "HistoryRepository", "SharesRepository", "create_repository",
    "create_stores", "instrumented",
]


def create_stores(
    settings: HistorySettings,
) -> tuple[HistoryRepository, AccountsRepository, SharesRepository]:
    """The history store and the users/usage and share-link stores beside it (one MongoDB
    client for all)."""
    if settings.mongodb_uri:
        from ._mongo_support import create_client, history_database
        from ._retry import RetryPolicy
        from .accounts_mongo import MongoAccountsRepository
        from .mongo import MongoHistoryRepository
        from .shares_mongo import MongoSharesRepository

        client = create_client(settings)
        retry = RetryPolicy(
            settings.store_retry_attempts,
            settings.store_retry_base_delay,
            settings.store_retry_max_delay,
        )
        return (
            instrumented(MongoHistoryRepository(client, settings)),
            MongoAccountsRepository(history_database(client, settings), retry),
            MongoSharesRepository(history_database(client, settings), retry),
        )
    from .accounts_sqlite import SqliteAccountsRepository
    from .shares_sqlite import SqliteSharesRepository

    path = settings.state_dir / "history.sqlite3"
    return (
        create_repository(settings),
        SqliteAccountsRepository(path, settings.sqlite_busy_timeout_ms),
        SqliteSharesRepository(path, settings.sqlite_busy_timeout_ms),
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
    """Times every store call and keeps ``history_store_up`` and the message counter."""

    def __init__(self, inner: HistoryRepository) -> None:
        self.inner = inner  # the store itself (tests reach its client through it)
        self.name = inner.name

    def __getattr__(self, operation: str) -> Any:
        attr = getattr(self.inner, operation)
        if not inspect.iscoroutinefunction(attr):
            return attr
        store = self.name

        @functools.wraps(attr)
        async def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                result = await attr(*args, **kwargs)
            except UnavailableError:
                STORE_UP.labels(store).set(0)
                raise
            finally:
                OPERATION_DURATION.labels(operation, store).observe(time.perf_counter() - start)
            if operation not in ("open", "close"):  # open() may start with the store down
                STORE_UP.labels(store).set(1)
            if operation == "add_message" and result[1]:
                MESSAGES_STORED.labels(result[0].role).inc()
            return result

        return call


def instrumented(repo: HistoryRepository) -> HistoryRepository:
    return cast(HistoryRepository, _Instrumented(repo))
