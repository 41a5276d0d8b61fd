"""``/v1/chat/completions`` and ``/v1/models``."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from chatbot_common.errors import ChatbotError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from .answer import Answer
from .callers import require_chat, require_chat_or_ui
from .errors import error_body
from .gateway import Gateway
from .schemas import ChatCompletionRequest
from .upstreams import Upstream

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["openai"])


async def get_gateway(request: Request) -> Gateway:  # async: a sync one runs in a thread
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def _sse(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


async def _event_stream(answer: Answer, include_usage: bool) -> AsyncIterator[bytes]:
    last: dict[str, Any] = {}
    try:  # one block per upstream read: the chunks' own bytes, all that read brought
        async for last, block in answer.sse_blocks():  # noqa: B007 (the last names the usage)
            yield block
    except ChatbotError as exc:
        yield _sse(error_body(exc))
        return
    if include_usage and answer.usage is not None:
        yield _sse(
            {
                "id": last.get("id", ""),
                "object": "chat.completion.chunk",
                "created": last.get("created", 0),
                "model": answer.model,
                "choices": [],
                "usage": answer.usage.to_dict(),
            }
        )
    yield b"data: [DONE]\n\n"


@router.post(
    "/chat/completions", response_model=None, dependencies=[Depends(require_chat)]
)
async def chat_completions(
    body: ChatCompletionRequest, gateway: GatewayDep
) -> StreamingResponse | JSONResponse:
    answer = await gateway.open(body)
    if body.stream:
        return StreamingResponse(
            _event_stream(answer, body.include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return JSONResponse(await answer.collect())


@router.get("/models", dependencies=[Depends(require_chat_or_ui)])
async def list_models(request: Request) -> dict[str, Any]:
    """The models requests may name (the allow-list), the default first."""
    chain: list[Upstream] = request.app.state.chain()
    gateway: Gateway = request.app.state.gateway
    offered: list[str] = gateway.offered
    owners = {m: u.name for u in reversed(chain) for m in (u.model, *u.models)}
    return {
        "object": "list",
        "data": [
            {"id": model, "object": "model", "created": 0, "owned_by": owners.get(model, "local"),
             "vision": model in gateway.settings.vision}
            for model in offered
        ],
    }
