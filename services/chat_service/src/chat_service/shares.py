"""Share links (additions to the contract's events): a read-only snapshot of a conversation.

- ``share.create {conversation_id, expires_in?}`` → ``{share}``: ``{id, conversation_id,
  title, created_at, expires_at, message_count}``; the link is ``/s/<id>`` on the page's
  origin (``id``: 192 random bits). ``expires_in``: seconds (60 … 10 years), none = until
  revoked.
- ``share.list {conversation_id}`` → ``{shares}``; ``share.revoke {share_id}`` → ``{}``.
- ``share.get {share_id}`` → ``{share, conversation, messages}`` (the snapshot): anyone
  connected to this deployment with the link, except that with accounts on (``OIDC_ISSUER``)
  guests get ``forbidden`` unless ``SHARE_PUBLIC_LINKS`` is true. Unknown, revoked and expired
  links are ``not_found``; the owner's id never leaves the service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from chatbot_common.contract import Id
from chatbot_common.errors import ForbiddenError
from pydantic import Field, StrictInt

from .acks import Ack, ok
from .answer import as_sent
from .schemas import ConversationRef, Payload, parse
from .service import ChatService
from .sessions import Connections

SHARE_EVENTS = ("share.create", "share.list", "share.revoke", "share.get")
#: What a share-link reader's connection (a reader token) may do.
READER_EVENTS = ("share.get", "auth.renew")


class ShareCreate(Payload):
    conversation_id: Id
    expires_in: Annotated[StrictInt, Field(ge=60, le=10 * 365 * 86400)] | None = None


class ShareRef(Payload):
    share_id: Id


def may_read(viewer_id: str, viewer_guest: bool, owner_id: str, *, accounts_on: bool,
             public_links: bool) -> None:
    """Raise ``ForbiddenError`` when this viewer may not read a share of ``owner_id``."""
    if viewer_id == owner_id or not accounts_on or public_links or not viewer_guest:
        return
    raise ForbiddenError("sign in to read this shared conversation")


class ShareEvents:
    def __init__(self, service: ChatService, connections: Connections) -> None:
        self.service = service
        self.connections = connections

    def handlers(self) -> dict[str, Callable[[str, str, Any], Awaitable[Ack]]]:
        return {"share.create": self.create, "share.list": self.list,
                "share.revoke": self.revoke, "share.get": self.get}

    async def create(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ShareCreate, data)
        history, _, _ = self.service.clients()
        share = await history.create_share(user_id, p.conversation_id,
                                           {"expires_in": p.expires_in})
        return ok(share=share)

    async def list(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationRef, data)
        history, _, _ = self.service.clients()
        return ok(shares=await history.list_shares(user_id, p.conversation_id))

    async def revoke(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ShareRef, data)
        history, _, _ = self.service.clients()
        await history.revoke_share(user_id, p.share_id)
        return ok()

    async def get(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ShareRef, data)
        history, _, _ = self.service.clients()
        found = await history.read_share(p.share_id)
        conn = self.connections.get(sid)
        settings = self.service.settings
        may_read(user_id, conn.guest if conn else True, str(found.get("user_id")),
                 accounts_on=bool(settings.oidc_issuer),
                 public_links=settings.share_public_links)
        return ok(share=found["share"], conversation=found["conversation"],
                  messages=[as_sent(m) for m in found["messages"]])
