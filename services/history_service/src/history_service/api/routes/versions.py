"""Message versions (``tree.py``) and feedback: switch branches, read every branch, rate."""

from __future__ import annotations

from typing import Annotated

from chatbot_common.text import MAX_SEQ
from fastapi import APIRouter, Query

from ...models import (
    BranchSelect,
    ConversationPublic,
    FeedbackUpdate,
    MessagePublic,
    TreePublic,
)
from ..deps import (
    AccountsDep,
    ConversationId,
    HistoryDep,
    InternalAuth,
    MessageId,
    SettingsDep,
    UserId,
)
from ..limits import check_feedback

router = APIRouter(
    prefix="/v1/conversations/{conversation_id}", tags=["versions"], dependencies=[InternalAuth]
)


@router.post("/branch")
async def select_branch(
    conversation_id: ConversationId, body: BranchSelect, user_id: UserId, repo: HistoryDep
) -> ConversationPublic:
    """Show the branch through ``message_id``: its ancestors and its latest continuation."""
    return await repo.select_branch(user_id, conversation_id, body.message_id)


@router.get("/tree")
async def list_tree(
    conversation_id: ConversationId,
    user_id: UserId,
    repo: HistoryDep,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> TreePublic:
    """Every message of every branch (``parent_id``, ``active``), ascending ``seq``."""
    return TreePublic(messages=await repo.list_tree(user_id, conversation_id, after_seq, limit))


@router.put("/messages/{message_id}/feedback")
async def set_feedback(
    conversation_id: ConversationId,
    message_id: MessageId,
    body: FeedbackUpdate,
    user_id: UserId,
    repo: HistoryDep,
    accounts: AccountsDep,
    settings: SettingsDep,
) -> MessagePublic:
    """Thumbs up/down with an optional comment on an answer; counted with its usage."""
    check_feedback(body, settings)
    message = await repo.set_feedback(user_id, conversation_id, message_id, body.feedback)
    await accounts.set_feedback(message_id, body.feedback.rating if body.feedback else None)
    return message
