"""What the page needs to know: where the chat service is, which models it may offer."""

from __future__ import annotations

import logging
from typing import Any

import httpx2
from chatbot_common.errors import UnavailableError
from fastapi import APIRouter
from pydantic import BaseModel

from ...origins import chat_url
from ..deps import HttpDep, SettingsDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["config"])


class OidcClient(BaseModel):
    issuer: str
    client_id: str


class AuthConfig(BaseModel):
    guest_access: bool
    oidc: OidcClient | None
    #: Share links readable without signing in (``POST /auth/reader``).
    share_public_links: bool = False


class PageConfig(BaseModel):
    chat_url: str
    socket_path: str
    auth: AuthConfig


class ModelInfo(BaseModel):
    id: str


class ModelList(BaseModel):
    models: list[ModelInfo]


@router.get("/config.json")
async def config(settings: SettingsDep) -> PageConfig:
    oidc = None
    if settings.oidc_issuer and settings.oidc_client_id:
        oidc = OidcClient(issuer=settings.oidc_issuer, client_id=settings.oidc_client_id)
    return PageConfig(
        chat_url=chat_url(settings),
        socket_path=settings.socket_path,
        auth=AuthConfig(guest_access=settings.guests_allowed, oidc=oidc,
                        share_public_links=settings.share_public_links),
    )


@router.get("/models.json")
async def models(settings: SettingsDep, http: HttpDep) -> ModelList:
    """The LLM service's ``/v1/models``, for the page's model picker (first = default)."""
    if not settings.llm_service_url:
        return ModelList(models=[])
    headers = {}
    if settings.ui_token:
        headers["Authorization"] = f"Bearer {settings.ui_token}"
    try:
        r = await http.get(settings.llm_service_url.rstrip("/") + "/models", headers=headers)
        r.raise_for_status()
        body: Any = r.json()
    except (httpx2.HTTPError, ValueError) as exc:
        log.warning("model list unavailable", extra={"error": str(exc)})
        raise UnavailableError("the model list is not available right now") from exc
    data = body.get("data") if isinstance(body, dict) else None
    ids = [m["id"] for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
    return ModelList(models=[ModelInfo(id=i) for i in ids])
