"""``/v1/imports``: the messages of an imported conversation, stored in order in one call.

The chat service creates the conversation and stores its files first (``/v1/files``), then
sends every message here with the files' new ids. Limits as for any message; a message whose
status was ``streaming`` when exported is stored ``interrupted``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from ...models import MessageCreate, MessagesPublic
from ..deps import FilesDep, HistoryDep, InternalAuth, SettingsDep, UserId, checked_id
from ..limits import check_message
from .files import file_refs

router = APIRouter(prefix="/v1/imports", tags=["imports"], dependencies=[InternalAuth])


class ImportedMessages(BaseModel):
    messages: list[MessageCreate] = Field(max_length=10_000)


@router.post("", status_code=status.HTTP_201_CREATED)
async def import_messages(
    conversation_id: Annotated[str, Query(min_length=1, max_length=64)],
    body: ImportedMessages,
    user_id: UserId,
    repo: HistoryDep,
    files: FilesDep,
    settings: SettingsDep,
) -> MessagesPublic:
    cid = checked_id(conversation_id, "conversation")
    await repo.get_conversation(user_id, cid)  # ownership, 404
    for message in body.messages:
        check_message(message, settings)
    stored = []
    for message in body.messages:
        update: dict[str, object] = {"client_message_id": None}
        if message.status == "streaming":
            update["status"] = "interrupted"
        if message.files:
            update["files"] = await file_refs(files, user_id, cid, [f.id for f in message.files])
        added, _ = await repo.add_message(user_id, cid, message.model_copy(update=update))
        stored.append(added)
    return MessagesPublic(messages=stored)
