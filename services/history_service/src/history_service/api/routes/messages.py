"""``/v1/conversations/{id}/messages``: read, append (idempotent), finalise, delete."""

from __future__ import annotations

from typing import Annotated

from chatbot_common.errors import ConflictError
from chatbot_common.text import MAX_SEQ
from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from ...models import (
    AnswerFinish,
    AnswerFinished,
    MessageCreate,
    MessagePublic,
    MessagesPublic,
    MessageStored,
    MessageUpdate,
    TextUpdate,
)
from ..deps import (
    Answering,
    ConversationId,
    FilesDep,
    HistoryDep,
    InternalAuth,
    MessageId,
    SettingsDep,
    UserId,
)
from ..limits import check_message
from .files import file_refs

router = APIRouter(
    prefix="/v1/conversations/{conversation_id}/messages",
    tags=["messages"],
    dependencies=[InternalAuth],
)


@router.get("")
async def list_messages(
    conversation_id: ConversationId,
    user_id: UserId,
    repo: HistoryDep,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> MessagesPublic:
    messages = await repo.list_messages(user_id, conversation_id, after_seq, limit)
    return MessagesPublic(messages=messages)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageStored,
    responses={200: {"model": MessageStored, "description": "an idempotent repeat"}},
)
async def add_message(
    conversation_id: ConversationId,
    body: MessageCreate,
    user_id: UserId,
    repo: HistoryDep,
    files: FilesDep,
    settings: SettingsDep,
) -> JSONResponse:
    check_message(body, settings)
    if body.files:  # only files stored in this conversation, named as stored
        ids = [f.id for f in body.files]
        body = body.model_copy(update={"files": await file_refs(files, user_id,
                                                                 conversation_id, ids)})
    message, created = await repo.add_message(user_id, conversation_id, body)
    return JSONResponse(
        MessageStored(message=message, created=created).model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@router.patch("/{message_id}")
async def update_message(
    conversation_id: ConversationId,
    message_id: MessageId,
    body: MessageUpdate,
    user_id: UserId,
    repo: HistoryDep,
    settings: SettingsDep,
) -> MessagePublic:
    check_message(body, settings)
    return await repo.update_message(user_id, conversation_id, message_id, body)


@router.post("/{message_id}/finish")
async def finish_answer(
    call: Answering, message_id: MessageId, body: AnswerFinish
) -> AnswerFinished:
    """The end of an answer in one round trip (the chat service's, per answer): the message
    updated as ``PATCH`` does (409 ``conflict`` when ``expect_status`` fails, and then nothing
    else is done), its usage record stored (idempotent on the message id), and the
    conversation read back for ``conversation.updated``."""
    conversation_id, user_id, repo = call.conversation_id, call.user_id, call.repo
    check_message(body.message, call.settings)
    message = await repo.update_message(user_id, conversation_id, message_id, body.message)
    if body.usage_record is not None:
        await call.accounts.add_usage(body.usage_record.model_copy(update={
            "message_id": message_id, "user_id": user_id, "conversation_id": conversation_id}))
    conversation = await repo.get_conversation(user_id, conversation_id)
    return AnswerFinished(message=message, conversation=conversation)


@router.put("/{message_id}/text", status_code=status.HTTP_204_NO_CONTENT)
async def save_text(call: Answering, message_id: MessageId, body: TextUpdate) -> Response:
    """Checkpoint of a streaming answer (its text and the delta index the text reaches):
    one write; 409 ``conflict`` once it is not streaming (or not there)."""
    check_message(MessageUpdate(content=body.content), call.settings)
    if not await call.repo.save_text(call.user_id, call.conversation_id, message_id,
                                     body.content, body.next_index):
        raise ConflictError("the message is not streaming")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{message_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_message(
    conversation_id: ConversationId, message_id: MessageId, user_id: UserId, repo: HistoryDep
) -> Response:
    await repo.delete_message(user_id, conversation_id, message_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
