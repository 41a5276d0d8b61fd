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
#: The guest's refresh credential (an HttpOnly cookie of the UI service): never a chat token.
REFRESH_AUDIENCE = "chatbot-ui-refresh"
ALGORITHM = "HS256"
#: Every guest's user id starts so (OIDC users: ``oidc-<issuer tag>-<sub>``), see is_guest.
GUEST_PREFIX = "guest-"
#: A share-link reader's token (``SHARE_PUBLIC_LINKS`` with guests off): never a chat token.
READER_AUDIENCE = "chatbot-share-reader"
READER_PREFIX = "reader-"


@dataclass(frozen=True)
class User:
    id: str
    guest: bool = True
    name: str | None = None
    admin: bool = False
    expires_at: float = 0.0  # the token's ``exp`` (seconds since the epoch)
    reader: bool = False  # may only read share links (share.get)


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


def issue_guest_refresh(secret: str, user_id: str, ttl_seconds: int) -> str:
    """The guest's refresh credential: renews ``user_id`` while the guest comes back within
    ``ttl_seconds`` (each renewal issues a new one)."""
    now = int(time.time())
    claims = {"sub": user_id, "iss": ISSUER, "aud": REFRESH_AUDIENCE, "iat": now,
              "exp": now + ttl_seconds, "guest": True}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_guest_refresh(token: str, secret: str) -> str:
    """The guest user id of a valid refresh credential; ``UnauthorizedError`` otherwise."""
    if not token or len(token) > 4096:
        raise UnauthorizedError("no refresh credential")
    claims = decode_claims(token, secret, [ALGORITHM], REFRESH_AUDIENCE, ISSUER, 0)
    return subject(claims, 200)


def issue_reader_token(secret: str, ttl_seconds: int) -> str:
    """A token that opens a connection for reading share links only (a new id each time)."""
    now = int(time.time())
    claims = {"sub": f"{READER_PREFIX}{uuid.uuid4().hex}", "iss": ISSUER,
              "aud": READER_AUDIENCE, "iat": now, "exp": now + ttl_seconds, "guest": True}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_reader_token(token: str, secret: str, leeway_seconds: int = 5) -> User:
    claims = decode_claims(token, secret, [ALGORITHM], READER_AUDIENCE, ISSUER, leeway_seconds)
    sub = subject(claims, 200)
    if not sub.startswith(READER_PREFIX):
        raise UnauthorizedError("the token is not valid")
    return User(id=sub, guest=True, expires_at=float(claims["exp"]), reader=True)


def is_guest(user_id: str) -> bool:
    """Whether a (verified) user id is a guest's: only the UI mints ids with this prefix."""
    return user_id.startswith(GUEST_PREFIX)


def verify_token(token: object, secret: str, leeway_seconds: int = 5) -> User:
    """Verify signature, issuer, audience and expiry; raise UnauthorizedError otherwise."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise UnauthorizedError("a token is required")
    claims = decode_claims(token, secret, [ALGORITHM], AUDIENCE, ISSUER, leeway_seconds)
    return User(
        id=subject(claims, 200),
        guest=bool(claims.get("guest", False)),
        expires_at=float(claims["exp"]),
    )


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
