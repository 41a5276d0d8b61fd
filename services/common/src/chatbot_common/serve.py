"""Run an ASGI app with uvicorn the same way in every service."""

from __future__ import annotations

import gc
from typing import Any

import uvicorn

from .connection_guard import guarded_protocol
from .logging import configure_logging
from .settings import ServiceSettings


class FreezeAfterStartup:
    """ASGI wrapper: once the app's startup is complete, ``gc.freeze()`` what exists.

    Python's full (generation 2) collection walks every tracked object, and a service holds
    hundreds of thousands from its imports and start-up (modules, schemas, clients) that live
    as long as it does. A burst of connections triggered such collections in the chat service
    that stalled its loop 70-150 ms each, in the middle of the burst's refusals. Frozen, those
    objects are left out of every collection; what is made later is collected as before."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def sent(message: Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                gc.collect()  # start-up's own garbage is not frozen with it
                gc.freeze()
            await send(message)

        await self.app(scope, receive, sent)


def serve(app: Any, settings: ServiceSettings, service: str) -> None:
    """Serve until SIGINT/SIGTERM; running requests get the configured grace period."""
    configure_logging(service, settings.log_level, settings.log_format)
    trusted = settings.trusted_proxies.strip()
    uvicorn.run(
        FreezeAfterStartup(app),
        host=settings.host,
        port=settings.port,
        log_config=None,
        http=guarded_protocol(
            header_timeout=settings.header_timeout_seconds,
            max_header_bytes=settings.max_header_bytes,
            max_connections=settings.max_open_connections,
        ),
        # X-Forwarded-For / -Proto only from the configured proxies (never by default).
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
        ws_max_size=1 << 20,
    )
