"""Assemble the UI service: page, static files, config, guest tokens, probes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
from chatbot_common.http import add_common_middleware, install_error_handlers, probes_router
from chatbot_common.oidc import TokenVerifier
from chatbot_common.settings import local_secret
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from . import vendor
from .api.routes import auth, config, oidc, pages
from .guest_mints import GuestMints
from .security import SecurityHeadersMiddleware
from .settings import UiSettings

log = logging.getLogger(__name__)


def create_app(settings: UiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        missing = vendor.missing_files(settings.node_modules)
        if missing:
            log.error(
                "the page's JavaScript libraries are missing; run `%s`",
                vendor.INSTALL_HINT,
                extra={"missing": missing, "node_modules": str(settings.node_modules)},
            )
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(5.0)) as http:
            app.state.http = http
            yield

    app = FastAPI(
        title="ui_service", lifespan=lifespan,
        docs_url=settings.docs_url,
        redoc_url=None,
        openapi_url=settings.openapi_url,
    )
    app.state.settings = settings
    app.state.guest_mints = GuestMints(settings.guest_mints_per_minute)
    app.state.auth_secret = settings.auth_secret or local_secret(settings.state_dir)
    app.state.verifier = (
        TokenVerifier(app.state.auth_secret, settings) if settings.oidc_issuer else None
    )

    async def libraries_installed() -> bool:
        return not vendor.missing_files(settings.node_modules)

    install_error_handlers(app)
    add_common_middleware(app, settings.max_request_bytes)
    # The page's scripts are ~400 KB of text (mostly the libraries): about a quarter gzipped.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.include_router(probes_router(lambda: [libraries_installed]))
    app.include_router(auth.router)
    app.include_router(oidc.router)
    app.include_router(config.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=settings.static_dir, check_dir=False), name="static")
    return app
