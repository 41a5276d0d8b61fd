"""User tokens: HS256 JWTs issued by the UI service and verified by the chat service."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from .errors import UnauthorizedError

ISSUER = "chatbot-ui"
AUDIENCE = "chatbot-chat"
ALGORITHM = "HS256"
#: Every guest's user id starts so (OIDC users are ``oidc-<sub>``): see :func:`is_guest`.
GUEST_PREFIX = "guest-"


@dataclass(frozen=True)
class User:
    id: str
    guest: bool = True


def issue_guest_token(secret: str, ttl_seconds: int, user_id: str | None = None) -> tuple[str, str]:
    """Return ``(token, user_id)`` for a new (or renewed) guest."""
    uid = user_id or f"{GUEST_PREFIX}{uuid.uuid4().hex}"
    now = int(time.time())
    claims = {
        "sub": uid,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        "guest": True,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), uid


def is_guest(user_id: str) -> bool:
    """Whether a (verified) user id is a guest's: only the UI mints ids with this prefix."""
    return user_id.startswith(GUEST_PREFIX)


def verify_token(token: object, secret: str, leeway_seconds: int = 5) -> User:
    """Verify signature, issuer, audience and expiry; raise UnauthorizedError otherwise."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise UnauthorizedError("a token is required")
    claims = decode_claims(token, secret, [ALGORITHM], AUDIENCE, ISSUER, leeway_seconds)
    return User(id=subject(claims, 200), guest=bool(claims.get("guest", False)))


def decode_claims(
    token: str, key: Any, algorithms: list[str], audience: str | None, issuer: str | None,
    leeway_seconds: int,
) -> dict[str, Any]:
    """``jwt.decode`` with exp, iat, sub, iss and aud required; errors become UnauthorizedError."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            leeway=leeway_seconds,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthorizedError("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise UnauthorizedError("the token is not valid") from exc
    return claims


def subject(claims: dict[str, Any], max_length: int) -> str:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > max_length:
        raise UnauthorizedError("the token has no valid subject")
    return sub
