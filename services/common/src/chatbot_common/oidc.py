"""Who a token belongs to: our signed guest tokens and, optionally, OIDC ID tokens.

Guest tokens are HS256 JWTs of the UI service (``tokens.py``). With ``OIDC_ISSUER`` set, ID
tokens from that issuer are accepted too, verified against its JWKS (``OIDC_JWKS_URL``) with
the issuer, audience and expiry checked. ``GUEST_ACCESS=false`` turns guest tokens off.
"""

from __future__ import annotations

import asyncio

import jwt
from pydantic import Field, model_validator

from .errors import UnauthorizedError
from .settings import ServiceSettings
from .tokens import ALGORITHM as GUEST_ALGORITHM
from .tokens import User, decode_claims, subject, verify_token

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")


class IdentitySettings(ServiceSettings):
    """Settings of the services that issue or verify user tokens (UI, chat)."""

    guest_access: bool = Field(
        True, validation_alias="GUEST_ACCESS", description="issue and accept guest tokens"
    )
    oidc_issuer: str | None = Field(
        None, validation_alias="OIDC_ISSUER", description="accept ID tokens from this issuer"
    )
    oidc_audience: str | None = Field(
        None, validation_alias="OIDC_AUDIENCE", description="the client id ID tokens name"
    )
    oidc_jwks_url: str | None = Field(
        None, validation_alias="OIDC_JWKS_URL", description="the issuer's JWKS document"
    )
    oidc_algorithms: str = Field("RS256,ES256", validation_alias="OIDC_ALGORITHMS")

    @model_validator(mode="after")
    def _oidc_complete(self) -> IdentitySettings:
        if self.oidc_issuer and not (self.oidc_audience and self.oidc_jwks_url):
            raise ValueError("OIDC_ISSUER needs OIDC_AUDIENCE and OIDC_JWKS_URL")
        return self

    @property
    def algorithms(self) -> list[str]:
        wanted = [a.strip() for a in self.oidc_algorithms.split(",") if a.strip()]
        return [a for a in wanted if a in ASYMMETRIC]  # never HS*: no key confusion


class TokenVerifier:
    """Verify a bearer token of either kind; raise ``UnauthorizedError`` otherwise."""

    def __init__(self, secret: str, settings: IdentitySettings, leeway_seconds: int = 5) -> None:
        self.secret = secret
        self.settings = settings
        self.leeway = leeway_seconds
        self._jwks: jwt.PyJWKClient | None = None
        if settings.oidc_issuer and settings.oidc_jwks_url:
            self._jwks = jwt.PyJWKClient(
                settings.oidc_jwks_url, cache_keys=True, lifespan=300, timeout=5
            )

    async def verify(self, token: object) -> User:
        if not isinstance(token, str) or not token or len(token) > 8192:
            raise UnauthorizedError("a token is required")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise UnauthorizedError("the token is not valid") from exc
        if header.get("alg") == GUEST_ALGORITHM:
            if not self.settings.guest_access:
                raise UnauthorizedError("guest access is turned off; sign in")
            return verify_token(token, self.secret, self.leeway)
        if self._jwks is None:
            raise UnauthorizedError("the token is not valid")
        return await self._verify_oidc(token)

    async def _verify_oidc(self, token: str) -> User:
        assert self._jwks is not None
        try:
            # PyJWKClient fetches the JWKS with blocking urllib: keep it off the event loop.
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientError as exc:
            raise UnauthorizedError("the token's signing key is unknown") from exc
        except jwt.InvalidTokenError as exc:
            raise UnauthorizedError("the token is not valid") from exc
        claims = decode_claims(
            token,
            key.key,
            self.settings.algorithms,
            self.settings.oidc_audience,
            self.settings.oidc_issuer,
            self.leeway,
        )
        sub = subject(claims, 180)
        # A prefix no guest id has: an issuer's "guest-..." subject never meets a guest's data.
        return User(id="oidc-" + sub, guest=False)
