"""An OpenID Connect provider as its discovery document describes it.

``OIDC_ISSUER`` is all a service is told: the endpoints (authorization, token, end session) and
the signing keys (``jwks_uri``) come from ``<issuer>/.well-known/openid-configuration``. The
document is fetched on first use, kept for ``ttl`` seconds, and its ``issuer`` must be exactly
the configured one (OpenID Connect Discovery 1.0, section 4.3). A failed fetch is retried on
the next use, at most once per ``retry_after`` seconds; meanwhile callers get
``UnavailableError``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx2
import jwt

from .errors import UnauthorizedError, UnavailableError

log = logging.getLogger(__name__)

WELL_KNOWN = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None

    @classmethod
    def parse(cls, issuer: str, doc: Any) -> ProviderMetadata:
        if not isinstance(doc, dict):
            raise ValueError("the discovery document is not an object")
        if doc.get("issuer") != issuer:
            raise ValueError(f"the discovery document names issuer {doc.get('issuer')!r}")
        fields = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise ValueError(f"the discovery document has no {name}")
            fields[name] = value
        end = doc.get("end_session_endpoint")
        return cls(
            issuer=issuer,
            end_session_endpoint=end if isinstance(end, str) else None,
            **fields,
        )


class OidcProvider:
    """Discovery document and signing keys of one issuer, fetched lazily and cached."""

    def __init__(
        self, issuer: str, *, timeout: float = 5.0, ttl: float = 3600.0, retry_after: float = 5.0
    ) -> None:
        self.issuer = issuer  # exactly as configured: it must equal the tokens' "iss"
        self.timeout = timeout
        self.ttl = ttl
        self.retry_after = retry_after
        self._metadata: ProviderMetadata | None = None
        self._fetched_at = 0.0
        self._failed_at = 0.0
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = asyncio.Lock()

    async def metadata(self) -> ProviderMetadata:
        now = time.monotonic()
        if self._metadata is not None and now - self._fetched_at < self.ttl:
            return self._metadata
        async with self._lock:
            if self._metadata is not None and time.monotonic() - self._fetched_at < self.ttl:
                return self._metadata
            if self._metadata is None and time.monotonic() - self._failed_at < self.retry_after:
                raise UnavailableError("the identity provider is not reachable right now")
            try:
                self._set(await self._fetch())
            except (httpx2.HTTPError, ValueError) as exc:
                self._failed_at = time.monotonic()
                log.warning("OIDC discovery failed", extra={"issuer": self.issuer,
                                                            "error": str(exc)})
                if self._metadata is not None:  # keep the last good one
                    return self._metadata
                raise UnavailableError("the identity provider is not reachable right now") from exc
            assert self._metadata is not None
            return self._metadata

    async def _fetch(self) -> ProviderMetadata:
        # The issuer as configured, a trailing slash or not (Google has none, Entra has one).
        url = self.issuer.rstrip("/") + WELL_KNOWN
        async with httpx2.AsyncClient(timeout=self.timeout) as http:
            r = await http.get(url)
            r.raise_for_status()
            return ProviderMetadata.parse(self.issuer, r.json())

    def _set(self, metadata: ProviderMetadata) -> None:
        if self._metadata is None or self._metadata.jwks_uri != metadata.jwks_uri:
            self._jwks = jwt.PyJWKClient(
                metadata.jwks_uri, cache_keys=True, lifespan=300, timeout=int(self.timeout)
            )
        self._metadata = metadata
        self._fetched_at = time.monotonic()

    async def signing_key(self, token: str) -> Any:
        """The key that signed ``token`` (by ``kid``), from the issuer's JWKS."""
        await self.metadata()
        assert self._jwks is not None
        try:
            # PyJWKClient fetches with blocking urllib: keep it off the event loop.
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as exc:
            raise UnavailableError("the identity provider's keys are not reachable") from exc
        except jwt.PyJWKClientError as exc:
            raise UnauthorizedError("the token's signing key is unknown") from exc
        except jwt.InvalidTokenError as exc:
            raise UnauthorizedError("the token is not valid") from exc
        return key.key
