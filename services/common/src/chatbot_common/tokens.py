"""User tokens: HS256 JWTs issued by the UI service and verified by the chat service."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from .errors import UnauthorizedError

ISSUER = "chatbot-ui"
AUDIENCE = "chatbot-chat"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class User:
    id: str
    guest: bool = True


def issue_guest_token(secret: str, ttl_seconds: int, user_id: str | None = None) -> tuple[str, str]:
    """Return ``(token, user_id)`` for a new (or renewed) guest."""
    uid = user_id or f"guest-{uuid.uuid4().hex}"
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


def verify_token(token: object, secret: str, leeway_seconds: int = 5) -> User:
    """Verify signature, issuer, audience and expiry; raise UnauthorizedError otherwise."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise UnauthorizedError("a token is required")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=leeway_seconds,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthorizedError("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise UnauthorizedError("the token is not valid") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 200:
        raise UnauthorizedError("the token has no valid subject")
    return User(id=sub, guest=bool(claims.get("guest", False)))
