"""Who may call which route: one internal token per calling service.

The chat service (CHAT_INTERNAL_TOKEN) may call every route; the UI (UI_INTERNAL_TOKEN) only
reads the model list, so the internet-facing UI's token cannot spend the upstream's budget.
"""

from __future__ import annotations

from typing import Annotated

from chatbot_common.http import internal_auth
from chatbot_common.settings import ServiceSettings
from fastapi import Header, Request


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


async def require_chat(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    settings = _settings(request)
    await internal_auth(lambda: settings.chat_token)(authorization)


async def require_chat_or_ui(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    settings = _settings(request)
    await internal_auth(lambda: settings.chat_token, lambda: settings.ui_token)(authorization)
