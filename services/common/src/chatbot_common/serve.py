"""Run an ASGI app with uvicorn the same way in every service."""

from __future__ import annotations

from typing import Any

import uvicorn

from .logging import configure_logging
from .settings import ServiceSettings


def serve(app: Any, settings: ServiceSettings, service: str) -> None:
    """Serve until SIGINT/SIGTERM; running requests get the configured grace period."""
    configure_logging(service, settings.log_level, settings.log_format)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
        ws_max_size=1 << 20,
    )
