"""Guest tokens: ``POST /auth/guest`` issues one, or renews the user of an old one."""

from __future__ import annotations

import logging

from chatbot_common.errors import ForbiddenError, UnauthorizedError
from chatbot_common.tokens import issue_guest_token, verify_token
from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..deps import AuthSecretDep, ClientHostDep, GuestMintsDep, SettingsDep

log = logging.getLogger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"])


class GuestRequest(BaseModel):
    token: str | None = Field(None, max_length=4096, description="an earlier token to renew")


class GuestToken(BaseModel):
    token: str
    user_id: str
    expires_in: int


@router.post("/guest")
async def guest(
    settings: SettingsDep,
    secret: AuthSecretDep,
    mints: GuestMintsDep,
    client_host: ClientHostDep,
    body: GuestRequest | None = None,
) -> GuestToken:
    """A new guest, or the same user id again when ``token`` is ours (even recently expired)."""
    if not settings.guest_access:
        raise ForbiddenError("guest access is turned off; sign in with your identity provider")
    user_id: str | None = None
    if body is not None and body.token:
        try:
            # The leeway lets a correctly signed token expired within the window renew.
            user = verify_token(
                body.token, secret, leeway_seconds=settings.token_renew_window_seconds
            )
            user_id = user.id
        except UnauthorizedError as exc:
            log.info("guest token not renewable, issuing a new guest", extra={"why": exc.message})
    if user_id is None:
        await mints.admit(client_host)  # a new guest (renewals mint no one)
    token, uid = issue_guest_token(secret, settings.token_ttl_seconds, user_id)
    return GuestToken(token=token, user_id=uid, expires_in=settings.token_ttl_seconds)
