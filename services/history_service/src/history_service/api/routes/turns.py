"""``/v1/conversations/{id}/turns``: one round trip for the chat service's ``message.send``.

Stores the user message (idempotent on ``client_message_id``); when it is new and an answer
is wanted, reads the context (the last ``context_messages`` messages, the new one included)
and creates the answer's placeholder (``streaming``, after it in ``seq``). Works on every
store: it is the store's own calls, in order, without three more HTTP round trips.
"""

from __future__ import annotations

from chatbot_common.contract import MessageStatus, Role
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from ...models import MessageCreate, TurnCreate, TurnStored
from ..deps import Answering, InternalAuth
from ..limits import check_message
from .files import file_refs

router = APIRouter(
    prefix="/v1/conversations/{conversation_id}/turns", tags=["turns"],
    dependencies=[InternalAuth],
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TurnStored,
    responses={200: {"model": TurnStored, "description": "an idempotent repeat"}},
)
async def start_turn(call: Answering, body: TurnCreate) -> JSONResponse:
    conversation_id, user_id, repo, settings = (
        call.conversation_id, call.user_id, call.repo, call.settings)
    files = call.files
    user = MessageCreate(role=Role.USER, content=body.content, status=MessageStatus.COMPLETE,
                         client_message_id=body.client_message_id,
                         files=await file_refs(files, user_id, conversation_id, body.file_ids))
    check_message(user, settings)
    conversation = await repo.get_conversation(user_id, conversation_id)  # ownership, 404
    if body.edit_of is not None:  # a new version of that message (tree.py)
        message, created = await repo.edit_message(user_id, conversation_id, body.edit_of, user)
    else:
        message, created = await repo.add_message(user_id, conversation_id, user)
    context, answer = [], None
    if created and body.answer:
        context = await repo.list_messages(user_id, conversation_id, None, body.context_messages)
        placeholder = MessageCreate(
            role=Role.ASSISTANT, content="", status=MessageStatus.STREAMING,
            model=conversation.model or body.default_model,
        )
        answer, _ = await repo.add_message(user_id, conversation_id, placeholder)
    turn = TurnStored(conversation=conversation, message=message, created=created,
                      context=context, answer=answer)
    return JSONResponse(turn.model_dump(mode="json"),
                        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
