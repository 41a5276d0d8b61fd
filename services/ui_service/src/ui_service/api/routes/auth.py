"""Guest tokens: ``POST /auth/guest`` issues one, or renews the user of an earlier one.

A guest token lives at most an hour (``TOKEN_TTL_SECONDS``). The guest keeps their user id
through a refresh credential in an HttpOnly cookie, renewed on every use and valid for
``TOKEN_RENEW_WINDOW_SECONDS`` after the last one: renewable while the guest is active. A
still-valid token in the body also renews its user (pages from before the cookie); an expired
one does not.
"""

from __future__ import annotations

import logging

from chatbot_common.errors import SignInRequiredError, UnauthorizedError
from chatbot_common.tokens import (
    issue_guest_refresh,
    issue_guest_token,
    issue_reader_token,
    verify_guest_refresh,
    verify_token,
)
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from ... import cookies
from ..deps import AuthSecretDep, ClientHostDep, GuestMintsDep, SettingsDep

log = logging.getLogger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"])


class GuestRequest(BaseModel):
    token: str | None = Field(None, max_length=4096, description="a current token to renew")


class GuestToken(BaseModel):
    token: str
    user_id: str
    expires_in: int


def _renewed_user(request: Request, secret: str, body: GuestRequest | None) -> str | None:
    refresh = cookies.read(request, cookies.GUEST)
    if refresh:
        try:
            return verify_guest_refresh(refresh, secret)
        except UnauthorizedError as exc:
            log.info("guest refresh cookie not valid", extra={"why": exc.message})
    if body is not None and body.token:
        try:
            return verify_token(body.token, secret).id
        except UnauthorizedError as exc:
            log.info("guest token not renewable, issuing a new guest", extra={"why": exc.message})
    return None


@router.post("/guest")
async def guest(
    request: Request,
    response: Response,
    settings: SettingsDep,
    secret: AuthSecretDep,
    mints: GuestMintsDep,
    client_host: ClientHostDep,
    body: GuestRequest | None = None,
) -> GuestToken:
    """A new guest, or the same user id again (refresh cookie, or a still-valid token)."""
    if not settings.guests_allowed:
        raise SignInRequiredError(
            "guest access is turned off; sign in with your identity provider"
        )
    user_id = _renewed_user(request, secret, body)
    if user_id is None:
        await mints.admit(client_host)  # a new guest (renewals mint no one)
    token, uid = issue_guest_token(secret, settings.token_ttl_seconds, user_id)
    window = settings.token_renew_window_seconds
    if window > 0:
        refresh = issue_guest_refresh(secret, uid, window)
        cookies.store(response, request, settings, cookies.GUEST, refresh, window)
    return GuestToken(token=token, user_id=uid, expires_in=settings.token_ttl_seconds)


class ReaderToken(BaseModel):
    token: str
    expires_in: int


@router.post("/reader")
async def reader(
    settings: SettingsDep,
    secret: AuthSecretDep,
    mints: GuestMintsDep,
    client_host: ClientHostDep,
) -> ReaderToken:
    """A token for reading share links only (``share.get``), when the operator allows public
    links (``SHARE_PUBLIC_LINKS``): how a visitor who cannot chat (guests off) reads one.
    Counted like new guests (``GUEST_MINTS_PER_MINUTE``)."""
    if not settings.share_public_links:
        raise SignInRequiredError("share links are for signed-in users here; sign in")
    await mints.admit(client_host)
    token = issue_reader_token(secret, settings.token_ttl_seconds)
    return ReaderToken(token=token, expires_in=settings.token_ttl_seconds)
