"""The MongoDB side of message versions (``tree.py``) and feedback.

Message documents carry ``parent_id``, ``active`` (missing = true: documents stored before
versions existed) and ``feedback``. Documents of earlier versions have no ``parent_id``; a
conversation's are filled in (each follows the one before in ``seq``: they form one line)
before its first edit or branch switch. Switching branches is two ``update_many`` (no
transactions on FerretDB): a crash between them leaves a mixed branch that the next switch
puts right.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from chatbot_common.contract import Feedback, now_iso
from chatbot_common.errors import NotFoundError
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from .. import tree
from ..models import ConversationPublic, MessageCreate, MessagePublic, TreeMessage
from ._mongo_support import Doc, conversation_from_doc, message_from_doc

T = TypeVar("T")

#: Documents on the active branch (``active`` missing counts as true).
ACTIVE: Doc = {"active": {"$ne": False}}


def node(doc: Doc) -> tree.Node:
    return tree.Node(doc["_id"], doc.get("parent_id"), int(doc["seq"]), doc.get("active", True))


class MongoVersions:
    """Versions and feedback of ``MongoHistoryRepository`` (which provides these members)."""

    messages: AsyncCollection[Doc]
    conversations: AsyncCollection[Doc]
    _writing: Callable[[str], AbstractAsyncContextManager[None]]

    async def _do(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        raise NotImplementedError

    async def _conversation_doc(self, user_id: str, conversation_id: str) -> Doc:
        raise NotImplementedError

    async def _message_doc(self, user_id: str, conversation_id: str, message_id: str) -> Doc:
        raise NotImplementedError

    async def _insert(
        self, conv: Doc, user_id: str, conversation_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        raise NotImplementedError

    # ---- helpers of the store ------------------------------------------------------------
    async def _leaf(self, conv: Doc, user_id: str, conversation_id: str) -> str | None:
        """The parent of the next message: the conversation's ``leaf_id`` (kept by every
        write of the tree), else (documents of earlier versions, after a delete) looked up."""
        if conv.get("leaf_id"):
            return str(conv["leaf_id"])
        return await self._parent_of_new(user_id, conversation_id)

    async def _parent_of_new(self, user_id: str, conversation_id: str) -> str | None:
        """The active branch's last message: the parent of the next one stored."""
        doc = await self._do(
            "add_message",
            lambda: self.messages.find_one(
                {"user_id": user_id, "conversation_id": conversation_id, **ACTIVE},
                projection={"_id": 1},
                sort=[("seq", DESCENDING)],
            ),
        )
        return doc["_id"] if doc else None

    async def _with_versions(
        self, user_id: str, conversation_id: str, found: list[MessagePublic]
    ) -> list[MessagePublic]:
        parents = sorted({m.parent_id for m in found if m.parent_id is not None})
        alternatives: list[Doc] = [{"parent_id": {"$in": parents}}] if parents else []
        if any(m.parent_id is None for m in found):
            # First messages: a stored null only (earlier documents have no parent_id).
            alternatives.append({"parent_id": {"$exists": True, "$eq": None}})
        if not alternatives:
            return found
        query = {"user_id": user_id, "conversation_id": conversation_id, "$or": alternatives}
        docs = await self._do(
            "list_messages",
            lambda: self.messages.find(query, projection={"_id": 1, "parent_id": 1, "seq": 1})
            .to_list(),
        )
        return tree.with_versions(found, [node(d) for d in docs])

    async def _nodes(self, user_id: str, conversation_id: str) -> list[tree.Node]:
        """Every message of the conversation as a tree node (earlier documents filled in)."""
        scope = {"user_id": user_id, "conversation_id": conversation_id}
        fields = {"_id": 1, "parent_id": 1, "seq": 1, "active": 1}

        async def run() -> list[Doc]:
            return await self.messages.find(scope, projection=fields).sort(
                "seq", ASCENDING).to_list()

        docs = await self._do("list_tree", run)
        fill, previous = [], None
        for d in docs:
            if "parent_id" not in d:
                d["parent_id"] = previous
                fill.append(UpdateOne({"_id": d["_id"]}, {"$set": {"parent_id": previous}}))
            previous = d["_id"]
        if fill:
            await self._do("list_tree", lambda: self.messages.bulk_write(fill, ordered=False))
        return [node(d) for d in docs]

    # ---- HistoryRepository ---------------------------------------------------------------
    async def edit_message(
        self, user_id: str, conversation_id: str, message_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        async with self._writing(conversation_id):
            conv = await self._conversation_doc(user_id, conversation_id)
            cmid = f"c:{data.client_message_id}"
            repeat: Doc | None = None
            if data.client_message_id is not None:
                repeat = await self._do(
                    "edit_message",
                    lambda: self.messages.find_one({"user_id": user_id, "cmid": cmid}),
                )
            if repeat is not None:  # stored before: add_message's repeat answers it
                return await self._insert(conv, user_id, conversation_id, data)
            edited = await self._message_doc(user_id, conversation_id, message_id)
            tree.check_editable(message_from_doc(edited), edited.get("active", True))
            await self._nodes(user_id, conversation_id)  # parents of earlier documents
            left = await self._do(
                "edit_message",
                lambda: self.messages.update_many(
                    {"user_id": user_id, "conversation_id": conversation_id, **ACTIVE,
                     "seq": {"$gte": edited["seq"]}},
                    {"$set": {"active": False}},
                ),
            )
            await self._do(
                "edit_message",
                lambda: self.conversations.update_one(
                    {"_id": conversation_id}, {"$inc": {"message_count": -left.modified_count}}
                ),
            )
            # The new version follows the edited message's parent: the active branch's end now.
            conv["leaf_id"] = await self._parent_of_new(user_id, conversation_id)
            return await self._insert(conv, user_id, conversation_id, data)

    async def select_branch(
        self, user_id: str, conversation_id: str, message_id: str
    ) -> ConversationPublic:
        async with self._writing(conversation_id):
            await self._conversation_doc(user_id, conversation_id)
            nodes = await self._nodes(user_id, conversation_id)
            path = tree.branch_through(nodes, message_id)
            on, off = tree.changes(nodes, path)
            for ids, value in ((off, False), (on, True)):
                if ids:
                    await self._set_active(ids, value)
            doc: Doc | None = await self._do(
                "select_branch",
                lambda: self.conversations.find_one_and_update(
                    {"_id": conversation_id},
                    {"$set": {"message_count": len(path), "leaf_id": path[-1]}},
                    return_document=ReturnDocument.AFTER,
                ),
            )
            if doc is None:
                raise NotFoundError("no such conversation")
            return conversation_from_doc(doc)

    async def _set_active(self, ids: list[str], value: bool) -> None:
        await self._do(
            "select_branch",
            lambda: self.messages.update_many({"_id": {"$in": ids}}, {"$set": {"active": value}}),
        )

    async def list_tree(
        self, user_id: str, conversation_id: str, after_seq: int | None, limit: int
    ) -> list[TreeMessage]:
        await self._conversation_doc(user_id, conversation_id)
        query = {"user_id": user_id, "conversation_id": conversation_id,
                 "seq": {"$gt": after_seq or 0}}

        async def run() -> list[Doc]:
            return await self.messages.find(query).sort("seq", ASCENDING).limit(limit).to_list()

        return [
            TreeMessage(**message_from_doc(d).model_dump(), active=d.get("active", True))
            for d in await self._do("list_tree", run)
        ]

    async def set_feedback(
        self, user_id: str, conversation_id: str, message_id: str, feedback: Feedback | None
    ) -> MessagePublic:
        doc = await self._message_doc(user_id, conversation_id, message_id)
        tree.check_rated(message_from_doc(doc))
        value = feedback.model_dump() if feedback is not None else None
        await self._do(
            "set_feedback",
            lambda: self.messages.update_one(
                {"_id": message_id}, {"$set": {"feedback": value, "updated_at": now_iso()}}
            ),
        )
        return message_from_doc({**doc, "feedback": value})
