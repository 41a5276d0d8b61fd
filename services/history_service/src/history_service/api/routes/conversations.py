"""``/v1/conversations``: create, list, search, read, rename, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from ...models import (
    ConversationCreate,
    ConversationPublic,
    ConversationsPublic,
    ConversationUpdate,
)
from ..deps import (
    ConversationId,
    FilesDep,
    HistoryDep,
    InternalAuth,
    SettingsDep,
    SharesDep,
    UserId,
)
from ..limits import check_conversation

router = APIRouter(prefix="/v1/conversations", tags=["conversations"], dependencies=[InternalAuth])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_conversation(
    body: ConversationCreate, user_id: UserId, repo: HistoryDep, settings: SettingsDep
) -> ConversationPublic:
    check_conversation(body, settings)
    return await repo.create_conversation(user_id, body)


@router.get("")
async def list_conversations(
    user_id: UserId,
    repo: HistoryDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> ConversationsPublic:
    return ConversationsPublic(conversations=await repo.list_conversations(user_id, limit, before))


@router.get("/search")
async def search_conversations(
    user_id: UserId,
    repo: HistoryDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ConversationsPublic:
    return ConversationsPublic(conversations=await repo.search_conversations(user_id, q, limit))


@router.get("/{conversation_id}")
async def get_conversation(
    conversation_id: ConversationId, user_id: UserId, repo: HistoryDep
) -> ConversationPublic:
    return await repo.get_conversation(user_id, conversation_id)


@router.patch("/{conversation_id}")
async def update_conversation(
    conversation_id: ConversationId,
    body: ConversationUpdate,
    user_id: UserId,
    repo: HistoryDep,
    settings: SettingsDep,
) -> ConversationPublic:
    check_conversation(body, settings)
    return await repo.update_conversation(user_id, conversation_id, body)


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(
    conversation_id: ConversationId,
    user_id: UserId,
    repo: HistoryDep,
    files: FilesDep,
    shares: SharesDep,
) -> Response:
    await repo.delete_conversation(user_id, conversation_id)
    await files.delete_conversation_files(user_id, conversation_id)  # its files go with it
    await shares.delete_for(user_id, conversation_id)  # its links die with it
    return Response(status_code=status.HTTP_204_NO_CONTENT)
