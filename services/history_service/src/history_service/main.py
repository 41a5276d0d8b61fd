"""Assemble the history service's ASGI app (wiring only)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chatbot_common.http import add_common_middleware, install_error_handlers, probes_router
from fastapi import FastAPI

from .api.routes import (
    accounts,
    conversations,
    files,
    imports,
    messages,
    shares,
    streaming,
    turns,
    versions,
)
from .metrics import STORE_UP
from .repository import HistoryRepository, create_stores
from .settings import HistorySettings

log = logging.getLogger(__name__)


def create_app(settings: HistorySettings | None = None) -> FastAPI:
    settings = settings or HistorySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        repo, accounts_store, files, shares_store = create_stores(settings)
        app.state.repository = repo
        app.state.accounts = accounts_store
        app.state.files = files
        app.state.shares = shares_store
        try:
            await repo.open()  # first: the conversations table the accounts store counts
            await accounts_store.open()
            await files.open()
            await shares_store.open()
            yield
        finally:
            await shares_store.close()
            await files.close()
            await accounts_store.close()
            await repo.close()

    app = FastAPI(
        title="history_service", lifespan=lifespan,
        docs_url=settings.docs_url,
        redoc_url=None,
        openapi_url=settings.openapi_url,
    )
    app.state.settings = settings

    async def store() -> bool:
        repo: HistoryRepository = app.state.repository
        try:
            ok = await repo.ping()
        except Exception:
            log.warning("the history store does not answer", exc_info=True)
            ok = False
        STORE_UP.labels(repo.name).set(1 if ok else 0)
        return ok

    # Routes are matched in order, one regular expression each: the chat service's calls of
    # every answer (a turn, checkpoints, the finish) come first (tests/test_history_routes.py
    # checks that no route hides another).
    app.include_router(turns.router)
    app.include_router(messages.router)
    app.include_router(probes_router(lambda: [store]))
    app.include_router(conversations.router)
    app.include_router(streaming.router)
    app.include_router(versions.router)
    app.include_router(shares.router)
    app.include_router(accounts.router)
    app.include_router(files.router)
    app.include_router(imports.router)
    # Uploads carry a file (MAX_FILE_BYTES); imports a whole conversation (MAX_IMPORT_BYTES).
    add_common_middleware(app, settings.max_request_bytes, larger={
        "/v1/files": settings.max_file_bytes, "/v1/imports": settings.max_import_bytes})
    install_error_handlers(app)
    return app
