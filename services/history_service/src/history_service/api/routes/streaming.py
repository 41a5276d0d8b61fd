"""``/v1/streaming-messages``: answers left ``streaming`` by a crashed chat replica."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...models import StreamingMessages
from ..deps import HistoryDep, InternalAuth

router = APIRouter(prefix="/v1/streaming-messages", tags=["recovery"], dependencies=[InternalAuth])


@router.get("")
async def list_streaming_messages(
    repo: HistoryDep,
    updated_before: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> StreamingMessages:
    """Every user's assistant messages still ``streaming`` (no ``X-User-Id``: internal sweep)."""
    return StreamingMessages(messages=await repo.list_streaming_messages(updated_before, limit))
