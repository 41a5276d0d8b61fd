"""Dependencies of the routes, as Annotated aliases (``async def``: FastAPI runs a plain
``def`` dependency in a worker thread)."""

from __future__ import annotations

from typing import Annotated

import httpx2
from chatbot_common.oidc import TokenVerifier
from fastapi import Depends, Request

from ..guest_mints import GuestMints
from ..settings import UiSettings


async def _settings(request: Request) -> UiSettings:
    settings: UiSettings = request.app.state.settings
    return settings


async def _auth_secret(request: Request) -> str:
    secret: str = request.app.state.auth_secret
    return secret


async def _http(request: Request) -> httpx2.AsyncClient:
    client: httpx2.AsyncClient = request.app.state.http
    return client


async def _verifier(request: Request) -> TokenVerifier | None:
    verifier: TokenVerifier | None = request.app.state.verifier
    return verifier


async def _guest_mints(request: Request) -> GuestMints:
    mints: GuestMints = request.app.state.guest_mints
    return mints


async def _client_host(request: Request) -> str | None:
    return request.client.host if request.client else None


GuestMintsDep = Annotated[GuestMints, Depends(_guest_mints)]
ClientHostDep = Annotated[str | None, Depends(_client_host)]
SettingsDep = Annotated[UiSettings, Depends(_settings)]
AuthSecretDep = Annotated[str, Depends(_auth_secret)]
HttpDep = Annotated[httpx2.AsyncClient, Depends(_http)]
VerifierDep = Annotated[TokenVerifier | None, Depends(_verifier)]
