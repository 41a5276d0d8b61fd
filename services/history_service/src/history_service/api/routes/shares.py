"""Share links (``shares.py``): create and list a conversation's, revoke, read one by id.

``GET /v1/shares/{id}`` takes no ``X-User-Id``: the id is the secret; the chat service
applies who may read it and never passes on the owner's id.
"""

from __future__ import annotations

from chatbot_common.errors import NotFoundError, TooLargeError
from fastapi import APIRouter, Response, status

from ...shares import (
    ShareCreate,
    ShareInfo,
    ShareSnapshot,
    SharesPublic,
    make_share,
    readable,
    snapshot_of,
)
from ..deps import (
    ConversationId,
    HistoryDep,
    InternalAuth,
    SettingsDep,
    ShareId,
    SharesDep,
    UserId,
)

router = APIRouter(prefix="/v1", tags=["shares"], dependencies=[InternalAuth])

PAGE = 1000


def _info(share: ShareInfo) -> ShareInfo:
    return ShareInfo.model_validate(share.model_dump(include=set(ShareInfo.model_fields)))


@router.post("/conversations/{conversation_id}/shares", status_code=status.HTTP_201_CREATED)
async def create_share(
    conversation_id: ConversationId,
    body: ShareCreate,
    user_id: UserId,
    repo: HistoryDep,
    shares: SharesDep,
    settings: SettingsDep,
) -> ShareInfo:
    """A snapshot of the conversation's active branch as it is now."""
    conversation = await repo.get_conversation(user_id, conversation_id)
    if len(await shares.list_for(user_id, conversation_id)) >= (
        settings.max_shares_per_conversation
    ):
        raise TooLargeError("this conversation has as many share links as allowed",
                            limit=settings.max_shares_per_conversation)
    limit = settings.max_share_messages
    if conversation.message_count > limit:
        raise TooLargeError(f"conversations of more than {limit} messages cannot be shared",
                            limit=limit)
    messages = await repo.list_messages(user_id, conversation_id, 0, min(PAGE, limit))
    while len(messages) < min(conversation.message_count, limit):
        more = await repo.list_messages(user_id, conversation_id, messages[-1].seq, PAGE)
        if not more:
            break
        messages.extend(more)
    share = make_share(user_id, conversation, messages[:limit], body)
    await shares.add(share)
    return _info(share)


@router.get("/conversations/{conversation_id}/shares")
async def list_shares(
    conversation_id: ConversationId, user_id: UserId, repo: HistoryDep, shares: SharesDep
) -> SharesPublic:
    await repo.get_conversation(user_id, conversation_id)  # ownership, 404
    return SharesPublic(shares=[_info(s) for s in await shares.list_for(user_id, conversation_id)])


@router.delete("/shares/{share_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_share(share_id: ShareId, user_id: UserId, shares: SharesDep) -> Response:
    if not await shares.delete(user_id, share_id):
        raise NotFoundError("no such share link")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/shares/{share_id}")
async def read_share(share_id: ShareId, shares: SharesDep) -> ShareSnapshot:
    share = readable(await shares.get(share_id))
    if share is None:
        raise NotFoundError("no such share link (revoked or expired)")
    return snapshot_of(share)
