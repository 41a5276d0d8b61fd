"""Who a token belongs to: our signed guest tokens and, optionally, OIDC ID tokens.

Guest tokens are HS256 JWTs of the UI service (``tokens.py``). With ``OIDC_ISSUER`` set, ID
tokens of that issuer are accepted too: signing keys from the issuer's discovery document
(``oidc_discovery.py``), issuer, audience (``OIDC_CLIENT_ID``) and expiry checked. A signed-in
user's id is stable per (issuer, ``sub``); the user is an admin when the roles claim
(``OIDC_ROLES_CLAIM``, a dotted path) holds ``OIDC_ADMIN_ROLE``. ``GUEST_ACCESS`` (default:
true without an issuer, false with one) says whether guest tokens are issued and accepted.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

import jwt
from pydantic import Field, model_validator

from .errors import UnauthorizedError
from .oidc_discovery import OidcProvider
from .settings import ServiceSettings
from .tokens import ALGORITHM as GUEST_ALGORITHM
from .tokens import User, decode_claims, subject, verify_reader_token, verify_token

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
MAX_SUBJECT = 180


class IdentitySettings(ServiceSettings):
    """Settings of the services that issue or verify user tokens (UI, chat)."""

    guest_access: bool | None = Field(
        None,
        validation_alias="GUEST_ACCESS",
        description="issue and accept guest tokens; unset = true without OIDC_ISSUER, "
        "false with it",
    )
    share_public_links: bool = Field(
        False,
        validation_alias="SHARE_PUBLIC_LINKS",
        description="with accounts on (OIDC_ISSUER), anyone with a share link may read it "
        "(guests, and with GUEST_ACCESS off a reader token for share.get alone); off: only "
        "signed-in users of this deployment (without accounts every visitor is a guest)",
    )
    oidc_issuer: str | None = Field(
        None,
        validation_alias="OIDC_ISSUER",
        description="the identity provider's issuer URL (discovery from its "
        "/.well-known/openid-configuration); unset = guests only",
    )
    oidc_client_id: str | None = Field(
        None,
        validation_alias="OIDC_CLIENT_ID",
        description="the page's client id (authorization code flow with PKCE S256); "
        "ID tokens must name it as audience",
    )
    oidc_client_secret: str | None = Field(
        None,
        validation_alias="OIDC_CLIENT_SECRET",
        repr=False,
        description="a confidential client's secret (the UI service exchanges the code)",
    )
    oidc_roles_claim: str = Field(
        "realm_access.roles",
        validation_alias="OIDC_ROLES_CLAIM",
        min_length=1,
        description="dotted path of the roles list in the ID token",
    )
    oidc_admin_role: str = Field(
        "chat-admin",
        validation_alias="OIDC_ADMIN_ROLE",
        min_length=1,
        description="the role that makes a user an admin",
    )
    oidc_scopes: str = Field(
        "openid profile email",
        validation_alias="OIDC_SCOPES",
        description="scopes the page asks for at sign-in",
    )
    oidc_algorithms: str = Field("RS256,ES256", validation_alias="OIDC_ALGORITHMS")

    @model_validator(mode="after")
    def _oidc_complete(self) -> IdentitySettings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("OIDC_ISSUER needs OIDC_CLIENT_ID")
        if self.oidc_issuer and not self.oidc_issuer.startswith(("https://", "http://")):
            raise ValueError("OIDC_ISSUER must be an http(s) URL")
        return self

    @property
    def guests_allowed(self) -> bool:
        if self.guest_access is None:
            return not self.oidc_issuer
        return self.guest_access

    @property
    def algorithms(self) -> list[str]:
        wanted = [a.strip() for a in self.oidc_algorithms.split(",") if a.strip()]
        return [a for a in wanted if a in ASYMMETRIC]  # never HS*: no key confusion


def roles_of(claims: dict[str, Any], path: str) -> list[str]:
    """The roles at a dotted ``path`` of the claims (a list, or one space-separated string)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return []
        value = value.get(part)
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def oidc_user_id(issuer: str, sub: str) -> str:
    """Stable per (issuer, ``sub``); the prefix keeps it apart from every guest id."""
    tag = hashlib.sha256(issuer.encode()).hexdigest()[:8]
    return f"oidc-{tag}-{sub}"


def display_name(claims: dict[str, Any]) -> str | None:
    for key in ("name", "preferred_username", "email"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


class TokenVerifier:
    """Verify a bearer token of either kind; raise ``UnauthorizedError`` otherwise."""

    def __init__(self, secret: str, settings: IdentitySettings, leeway_seconds: int = 5) -> None:
        self.secret = secret
        self.settings = settings
        self.leeway = leeway_seconds
        self.provider = OidcProvider(settings.oidc_issuer) if settings.oidc_issuer else None

    async def verify(self, token: object) -> User:
        if not isinstance(token, str) or not token or len(token) > 8192:
            raise UnauthorizedError("a token is required")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise UnauthorizedError("the token is not valid") from exc
        if header.get("alg") == GUEST_ALGORITHM:
            if self.settings.share_public_links:
                with contextlib.suppress(UnauthorizedError):  # else: a guest token, or neither
                    return verify_reader_token(token, self.secret, self.leeway)
            if not self.settings.guests_allowed:
                raise UnauthorizedError("guest access is turned off; sign in")
            return verify_token(token, self.secret, self.leeway)
        if self.provider is None:
            raise UnauthorizedError("the token is not valid")
        return await self._verify_oidc(token, self.provider)

    async def _verify_oidc(self, token: str, provider: OidcProvider) -> User:
        key = await provider.signing_key(token)
        claims = decode_claims(
            token,
            key,
            self.settings.algorithms,
            self.settings.oidc_client_id,
            provider.issuer,
            self.leeway,
        )
        sub = subject(claims, MAX_SUBJECT)
        roles = roles_of(claims, self.settings.oidc_roles_claim)
        return User(
            id=oidc_user_id(provider.issuer, sub),
            guest=False,
            name=display_name(claims),
            admin=self.settings.oidc_admin_role in roles,
            expires_at=float(claims["exp"]),
        )
