"""Run an ASGI app with uvicorn the same way in every service."""

from __future__ import annotations

from typing import Any

import uvicorn

from .connection_guard import guarded_protocol
from .logging import configure_logging
from .settings import ServiceSettings


def serve(app: Any, settings: ServiceSettings, service: str) -> None:
    """Serve until SIGINT/SIGTERM; running requests get the configured grace period."""
    configure_logging(service, settings.log_level, settings.log_format)
    trusted = settings.trusted_proxies.strip()
    uvicorn.run(
        app,
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
