"""Share links in MongoDB: collection ``shares`` (``_id`` = the share id, the snapshot as a
sub-document), indexed by ``{user_id, conversation_id}``, beside the history
(``MongoSideStore``: retried like the history's)."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING

from ..shares import ShareRecord
from ._mongo_support import Doc
from ._side_stores import MongoSideStore


def _share(doc: Doc) -> ShareRecord:
    return ShareRecord.model_validate({**doc, "id": doc["_id"]})


class MongoSharesRepository(MongoSideStore):
    NAME = "shares"

    async def _indexes(self) -> None:
        await self.db["shares"].create_index(
            [("user_id", ASCENDING), ("conversation_id", ASCENDING)], name="user_conversation"
        )

    async def add(self, share: ShareRecord) -> None:
        doc = {"_id": share.id, **share.model_dump(exclude={"id"})}
        await self._do("add_share", lambda: self.db["shares"].insert_one(doc))

    async def get(self, share_id: str) -> ShareRecord | None:
        doc = await self._do("get_share", lambda: self.db["shares"].find_one({"_id": share_id}))
        return _share(doc) if doc else None

    async def list_for(self, user_id: str, conversation_id: str) -> list[ShareRecord]:
        async def run() -> list[Doc]:
            return await self.db["shares"].find(
                {"user_id": user_id, "conversation_id": conversation_id}
            ).sort("created_at", DESCENDING).to_list()

        return [_share(d) for d in await self._do("list_shares", run)]

    async def delete(self, user_id: str, share_id: str) -> bool:
        done = await self._do(
            "delete_share",
            lambda: self.db["shares"].delete_one({"_id": share_id, "user_id": user_id}),
        )
        return done.deleted_count > 0

    async def delete_for(self, user_id: str, conversation_id: str) -> None:
        await self._do(
            "delete_shares",
            lambda: self.db["shares"].delete_many(
                {"user_id": user_id, "conversation_id": conversation_id}
            ),
        )
