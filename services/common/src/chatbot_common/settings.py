"""Settings base class: every service reads its configuration through a subclass of this."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Fields every service has. Only environment variables configure a service."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", validation_alias="HOST", description="listening address")
    port: int = Field(8080, validation_alias="PORT", ge=0, le=65535)
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_format: Literal["json", "console"] = Field(
        "json",
        validation_alias="LOG_FORMAT",
        description="json: one JSON object a line (containers); console: readable coloured lines",
    )
    state_dir: Path = Field(
        Path(".data"),
        validation_alias="STATE_DIR",
        description="where local runs keep their state (embedded store, generated secret)",
    )
    # One internal token per calling service (clusters): the chat service's is accepted by the
    # LLM and history services, the UI's by the LLM service's model list only. A service reads
    # its own as the caller and its callers' as the callee. INTERNAL_TOKEN, when set, stands in
    # for any of them that is unset (one token for every caller: simple single-host runs).
    internal_token: str | None = Field(
        None,
        validation_alias="INTERNAL_TOKEN",
        description="fallback token for every internal caller (CHAT_/UI_INTERNAL_TOKEN unset)",
        repr=False,  # never in a logged repr of the settings
    )
    chat_internal_token: str | None = Field(
        None,
        validation_alias="CHAT_INTERNAL_TOKEN",
        description="the chat service's key to the LLM and history services",
        repr=False,
    )
    ui_internal_token: str | None = Field(
        None,
        validation_alias="UI_INTERNAL_TOKEN",
        description="the UI service's key to the LLM service's model list",
        repr=False,
    )
    shutdown_grace_seconds: float = Field(
        10.0, validation_alias="SHUTDOWN_GRACE_SECONDS", ge=0
    )
    # Limits of the HTTP server itself (docs/security.md): before any route runs.
    max_request_bytes: int = Field(
        1 << 20,
        validation_alias="MAX_REQUEST_BYTES",
        ge=1024,
        description="largest request body (413 too_large beyond, refused before it is read)",
    )
    max_open_connections: int = Field(
        10_000,
        validation_alias="MAX_OPEN_CONNECTIONS",
        ge=1,
        description="open connections of this process (HTTP and WebSocket); beyond: 503",
    )
    header_timeout_seconds: float = Field(
        10.0,
        validation_alias="HEADER_TIMEOUT_SECONDS",
        gt=0,
        description="a connection whose request head is not complete this long is closed",
    )
    max_header_bytes: int = Field(
        64 * 1024,
        validation_alias="MAX_HEADER_BYTES",
        ge=1024,
        description="largest request head (request line and headers); 431 beyond",
    )
    trusted_proxies: str = Field(
        "",
        validation_alias="TRUSTED_PROXIES",
        description="comma-separated addresses/CIDRs of proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; '' = none (the peer address is the client)",
    )
    api_docs: bool = Field(
        False,
        validation_alias="API_DOCS",
        description="serve /docs and /openapi.json (development only)",
    )

    @property
    def docs_url(self) -> str | None:
        return "/docs" if self.api_docs else None

    @property
    def openapi_url(self) -> str | None:
        return "/openapi.json" if self.api_docs else None


    @property
    def chat_token(self) -> str | None:
        """The token the chat service presents (and the internal services accept from it)."""
        return self.chat_internal_token or self.internal_token

    @property
    def ui_token(self) -> str | None:
        """The token the UI presents to the LLM service's model list."""
        return self.ui_internal_token or self.internal_token


def local_secret(state_dir: Path, name: str = "auth_secret") -> str:
    """Return a random secret kept in ``state_dir`` (created on first use).

    Local runs have no AUTH_SECRET: the UI and chat services, started from the same
    directory, share this generated one so tokens survive a restart.
    """
    path = state_dir / name
    try:
        value = path.read_text().strip()
        if value:
            with contextlib.suppress(OSError):
                path.chmod(0o600)  # an older version's file may be world-readable
            return value
    except FileNotFoundError:
        pass
    private_dir(state_dir)
    value = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    # Created 0600 (never readable by others, not even for a moment).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    try:
        # A hard link fails if another process created the file first: then use theirs.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if it is missing; an existing directory is left as it is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` readable by its owner only (0600) in a private directory, and tighten
    the mode of a file an older version created world-readable."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    path.chmod(0o600)
    return path
