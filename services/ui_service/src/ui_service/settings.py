"""Configuration of the UI service (environment variables only)."""

from __future__ import annotations

from pathlib import Path

from chatbot_common.oidc import IdentitySettings
from pydantic import Field

# services/ui_service/web: our static files and the npm packages (`npm ci --prefix` there).
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "web"


class UiSettings(IdentitySettings):
    port: int = Field(8080, validation_alias="PORT", ge=0, le=65535)
    max_request_bytes: int = Field(
        64 * 1024,
        validation_alias="MAX_REQUEST_BYTES",
        ge=1024,
        description="largest request body (413 too_large beyond): the UI takes only small ones",
    )
    auth_secret: str | None = Field(
        None,
        validation_alias="AUTH_SECRET",
        description="HS256 key for user tokens; unset = the generated one in STATE_DIR",
    )
    token_ttl_seconds: int = Field(
        3600,
        validation_alias="TOKEN_TTL_SECONDS",
        ge=60,
        le=3600,
        description="lifetime of a guest token (at most an hour; the page renews it before)",
    )
    token_renew_window_seconds: int = Field(
        30 * 24 * 3600,
        validation_alias="TOKEN_RENEW_WINDOW_SECONDS",
        ge=0,
        description="a guest who comes back within this long keeps their user id (the "
        "HttpOnly refresh cookie's lifetime, renewed on every use)",
    )
    cookie_secure: bool | None = Field(
        None,
        validation_alias="COOKIE_SECURE",
        description="mark the refresh cookies Secure; unset = when PUBLIC_URL is https",
    )
    oidc_refresh_cookie_seconds: int = Field(
        30 * 24 * 3600,
        validation_alias="OIDC_REFRESH_COOKIE_SECONDS",
        ge=60,
        description="longest life of the cookie holding a signed-in user's refresh token "
        "(the provider's own refresh lifetime applies when shorter)",
    )
    public_url: str = Field(
        "http://localhost:8080",
        validation_alias="PUBLIC_URL",
        pattern=r"^https?://[^/?#\s]+/?$",
        description="the page's public address (scheme://host[:port]): the chat URL and the "
        "CSP derive from it, never from a request's Host header",
    )
    chat_public_url: str | None = Field(
        None,
        validation_alias="CHAT_PUBLIC_URL",
        description=(
            "where browsers reach the chat service; '' = same origin as the page (one ingress); "
            "unset = PUBLIC_URL's host with CHAT_PUBLIC_PORT"
        ),
    )
    guest_mints_per_minute: int = Field(
        10,
        validation_alias="GUEST_MINTS_PER_MINUTE",
        ge=1,
        description="new guests one client address (IPv6: its /64) may mint per minute; "
        "429 rate_limited beyond (the address behind TRUSTED_PROXIES is the client's)",
    )
    chat_public_port: int = Field(8081, validation_alias="CHAT_PUBLIC_PORT", ge=1, le=65535)
    socket_path: str = Field("/socket.io", validation_alias="CHAT_SOCKET_PATH")
    llm_service_url: str | None = Field(
        "http://127.0.0.1:8082/v1",
        validation_alias="LLM_SERVICE_URL",
        description="LLM service base URL, for the model list the page offers (/models.json)",
    )
    web_dir: Path = Field(DEFAULT_WEB_DIR, validation_alias="WEB_DIR")

    @property
    def static_dir(self) -> Path:
        return self.web_dir / "static"

    @property
    def node_modules(self) -> Path:
        return self.web_dir / "node_modules"
