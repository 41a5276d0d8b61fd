"""Assemble the LLM service's ASGI app: settings in, app out. Wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chatbot_common.http import add_common_middleware, probes_router
from fastapi import FastAPI

from .errors import error_body, install_error_handlers
from .gateway import Gateway
from .local_model import LocalModel
from .routes import router
from .settings import LlmSettings
from .upstreams import Upstream, configured_upstreams, make_upstream

log = logging.getLogger(__name__)


def create_app(settings: LlmSettings) -> FastAPI:
    upstreams: list[Upstream] = []
    local = LocalModel(settings) if settings.use_local_model else None

    async def start_local(model: LocalModel) -> None:
        base_url = await model.start()
        upstreams.insert(
            0,
            make_upstream(
                settings,
                base_url=base_url,
                model=model.spec.model_id,
                api_key=None,
                name="local",
                context_tokens=model.context_tokens,
            ),
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upstreams.extend(configured_upstreams(settings))
        task = asyncio.create_task(start_local(local)) if local else None
        log.info(
            "llm service starting",
            extra={"upstreams": [u.name for u in upstreams], "local_model": bool(local)},
        )
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            for upstream in upstreams:
                await upstream.aclose()
            if local is not None:
                await local.stop()

    async def upstream_ready() -> bool:
        if local is not None and not local.ready:
            return False
        return any(u.breaker.state != 2 for u in upstreams)

    async def wait_for_local_model() -> str | None:
        """Let the first requests wait (bounded) while the local model loads."""
        if local is None:
            return None
        await local.wait_loaded(settings.local_wait_seconds)
        return None if local.ready else local.status()

    app = FastAPI(
        title="llm-service", lifespan=lifespan,
        docs_url=settings.docs_url,
        redoc_url=None,
        openapi_url=settings.openapi_url,
    )
    app.state.chain = lambda: list(upstreams)
    app.state.gateway = Gateway(settings, app.state.chain, wait_for_local_model)
    install_error_handlers(app)
    add_common_middleware(app, settings.max_request_bytes, error_body)
    app.include_router(probes_router(lambda: [upstream_ready]))
    app.state.settings = settings  # the callers' tokens (callers.py)
    app.include_router(router)
    return app
