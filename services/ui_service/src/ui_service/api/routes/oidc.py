"""Sign-in with the organisation's OpenID Connect provider (``OIDC_ISSUER``).

The page runs the authorization code flow with PKCE (S256): it makes the verifier, sends the
browser to the provider's ``authorization_endpoint`` (``GET /auth/oidc/metadata``) and, back
with a code, has the UI service exchange it (``POST /auth/oidc/token``; with
``OIDC_CLIENT_SECRET`` the client is a confidential one). The ID token goes back to the page,
which presents it to the chat service; the refresh token stays in an HttpOnly cookie and
``POST /auth/oidc/refresh`` turns it into a new ID token before the old one expires.
``POST /auth/oidc/logout`` forgets it; the page then ends the provider's session
(RP-initiated logout at ``end_session_endpoint``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx2
from chatbot_common.errors import NotFoundError, UnauthorizedError, UnavailableError
from chatbot_common.oidc import TokenVerifier
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from ... import cookies
from ..deps import HttpDep, SettingsDep, VerifierDep

log = logging.getLogger(__name__)

router = APIRouter(prefix="/auth/oidc", tags=["auth"])


class Metadata(BaseModel):
    issuer: str
    client_id: str
    authorization_endpoint: str
    end_session_endpoint: str | None
    scopes: str


class CodeExchange(BaseModel):
    code: str = Field(min_length=1, max_length=4096)
    code_verifier: str = Field(min_length=43, max_length=128)
    redirect_uri: str = Field(min_length=1, max_length=2048)


class SignedIn(BaseModel):
    token: str
    expires_in: int
    user_id: str
    name: str | None
    admin: bool


def _verifier(verifier: TokenVerifier | None) -> TokenVerifier:
    if verifier is None or verifier.provider is None:
        raise NotFoundError("sign-in is not configured")
    return verifier


@router.get("/metadata")
async def metadata(settings: SettingsDep, verifier: VerifierDep) -> Metadata:
    provider = _verifier(verifier).provider
    assert provider is not None and settings.oidc_client_id
    meta = await provider.metadata()
    return Metadata(
        issuer=meta.issuer,
        client_id=settings.oidc_client_id,
        authorization_endpoint=meta.authorization_endpoint,
        end_session_endpoint=meta.end_session_endpoint,
        scopes=settings.oidc_scopes,
    )


async def _token_request(
    settings: Any, verifier: TokenVerifier, http: httpx2.AsyncClient, form: dict[str, str]
) -> dict[str, Any]:
    assert verifier.provider is not None
    meta = await verifier.provider.metadata()
    form = {**form, "client_id": settings.oidc_client_id}
    if settings.oidc_client_secret:
        form["client_secret"] = settings.oidc_client_secret
    try:
        r = await http.post(meta.token_endpoint, data=form, headers={"Accept": "application/json"})
    except httpx2.HTTPError as exc:
        raise UnavailableError("the identity provider is not reachable right now") from exc
    if r.status_code >= 500:
        raise UnavailableError("the identity provider is not answering right now")
    try:
        body: Any = r.json()
    except ValueError as exc:
        raise UnavailableError("the identity provider answered nonsense") from exc
    if r.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        log.info("token request refused", extra={"status": r.status_code, "error": error})
        raise UnauthorizedError("the identity provider refused the sign-in; sign in again")
    return body


async def _signed_in(
    request: Request, response: Response, settings: Any, verifier: TokenVerifier,
    body: dict[str, Any],
) -> SignedIn:
    id_token = body.get("id_token")
    if not isinstance(id_token, str):
        raise UnauthorizedError("the identity provider sent no ID token (scope openid?)")
    user = await verifier.verify(id_token)
    refresh = body.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        lifetime = body.get("refresh_expires_in")
        max_age = settings.oidc_refresh_cookie_seconds
        if isinstance(lifetime, int) and 0 < lifetime < max_age:
            max_age = lifetime
        cookies.store(response, request, settings, cookies.OIDC, refresh, max_age)
    return SignedIn(
        token=id_token,
        expires_in=max(0, int(user.expires_at - time.time())),
        user_id=user.id,
        name=user.name,
        admin=user.admin,
    )


@router.post("/token")
async def token(
    request: Request, response: Response, body: CodeExchange, settings: SettingsDep,
    verifier: VerifierDep, http: HttpDep,
) -> SignedIn:
    """Exchange the authorization code (with the PKCE verifier) for the user's tokens."""
    v = _verifier(verifier)
    tokens = await _token_request(settings, v, http, {
        "grant_type": "authorization_code",
        "code": body.code,
        "code_verifier": body.code_verifier,
        "redirect_uri": body.redirect_uri,
    })
    return await _signed_in(request, response, settings, v, tokens)


@router.post("/refresh")
async def refresh(
    request: Request, response: Response, settings: SettingsDep, verifier: VerifierDep,
    http: HttpDep,
) -> SignedIn:
    """A new ID token from the refresh token in the cookie (401 when there is none)."""
    v = _verifier(verifier)
    refresh_token = cookies.read(request, cookies.OIDC)
    if not refresh_token:
        raise UnauthorizedError("not signed in")
    try:
        tokens = await _token_request(settings, v, http, {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "scope": settings.oidc_scopes,
        })
    except UnauthorizedError:
        cookies.clear(response, request, settings, cookies.OIDC)
        raise
    return await _signed_in(request, response, settings, v, tokens)


@router.post("/logout", status_code=204)
async def logout(request: Request, response: Response, settings: SettingsDep) -> None:
    """Forget the refresh token; the page then ends the session at the provider."""
    cookies.clear(response, request, settings, cookies.OIDC)
