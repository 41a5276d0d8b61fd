"""Files in MongoDB: chunked documents, not GridFS.

``files`` holds one document per file (``_id`` = the file id; metadata and extracted text),
``file_chunks`` its bytes in chunks of ``CHUNK_BYTES`` (``_id`` = ``<file id>:<n>``). Chunked
documents of our own rather than GridFS: the same idea (BSON documents stay far below 16 MB),
but every read is by ``_id`` alone, the one filter FerretDB answers from an index, and deleting
a conversation's files is two ``delete_many`` on indexed fields.

A file is written chunks first, metadata last, so a file that is listed is complete; a failed
upload removes the chunks it wrote. The storage limit per user is checked under a per-user
lock of this replica (``$sum`` over the user's files): across replicas two uploads at the same
instant can pass it together, by at most one file each.
"""

from __future__ import annotations

import contextlib
import functools
from typing import TypeVar

from bson import Binary
from chatbot_common.errors import NotFoundError, TooLargeError
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ..files import FileDetail, FilePublic
from ._mongo_support import Doc, KeyedLocks
from ._retry import RetryPolicy
from ._side_stores import MongoSideStore

T = TypeVar("T")

#: Bytes per chunk document (MongoDB's own GridFS uses 255 kB; FerretDB prefers fewer docs).
CHUNK_BYTES = 1 << 20

_META = ("conversation_id", "name", "media_type", "kind", "size", "created_at", "text_chars")


def _public(doc: Doc) -> FilePublic:
    return FilePublic(id=doc["_id"], **{k: doc.get(k) for k in _META})


def _detail(doc: Doc) -> FileDetail:
    return FileDetail(id=doc["_id"], text=doc.get("text"), **{k: doc.get(k) for k in _META})


class MongoFilesRepository(MongoSideStore):
    NAME = "files"

    def __init__(self, db: AsyncDatabase[Doc], retry: RetryPolicy) -> None:
        super().__init__(db, retry)
        self.files = db["files"]
        self.chunks = db["file_chunks"]
        self.conversations = db["conversations"]
        self._users = KeyedLocks()

    async def _indexes(self) -> None:
        for collection in (self.files, self.chunks):
            await collection.create_index(
                [("user_id", ASCENDING), ("conversation_id", ASCENDING)],
                name="user_conversation",
            )

    async def user_bytes(self, user_id: str) -> int:
        async def run() -> list[Doc]:
            cursor = await self.files.aggregate([
                {"$match": {"user_id": user_id}},
                {"$group": {"_id": None, "total": {"$sum": "$size"}}},
            ])
            return await cursor.to_list()

        rows = await self._do("file_bytes", run)
        return int(rows[0]["total"]) if rows else 0

    async def add_file(
        self, user_id: str, file: FileDetail, data: bytes, max_user_bytes: int
    ) -> FilePublic:
        owner = await self._do(
            "add_file", lambda: self.conversations.find_one({"_id": file.conversation_id})
        )
        if owner is None or owner.get("user_id") != user_id:
            raise NotFoundError("no such conversation")
        scope = {"user_id": user_id, "conversation_id": file.conversation_id}
        async with self._users(user_id):
            if await self.user_bytes(user_id) + file.size > max_user_bytes:
                raise TooLargeError(
                    f"your files would exceed {max_user_bytes} bytes: delete some "
                    "conversations with files first", limit=max_user_bytes,
                )
            n = 0
            try:
                for n, start in enumerate(range(0, max(len(data), 1), CHUNK_BYTES)):
                    chunk: Doc = {"_id": f"{file.id}:{n}", "file_id": file.id, "n": n,
                                  "data": Binary(data[start:start + CHUNK_BYTES]), **scope}
                    await self._do("add_file", functools.partial(self.chunks.insert_one, chunk))
                doc: Doc = {"_id": file.id, **scope, "chunks": n + 1, "text": file.text,
                            **file.model_dump(include=set(_META) - {"conversation_id"})}
                await self._do("add_file", lambda: self.files.insert_one(doc))
            except BaseException:
                with contextlib.suppress(Exception):
                    await self.chunks.delete_many({**scope, "file_id": file.id})
                raise
        return FilePublic(**file.model_dump(exclude={"text"}))

    async def _doc(self, user_id: str, file_id: str) -> Doc:
        doc = await self._do("get_file", lambda: self.files.find_one({"_id": file_id}))
        if doc is None or doc.get("user_id") != user_id:
            raise NotFoundError("no such file")
        return doc

    async def get_file(self, user_id: str, file_id: str) -> FileDetail:
        return _detail(await self._doc(user_id, file_id))

    async def read_data(self, user_id: str, file_id: str) -> tuple[FileDetail, bytes]:
        doc = await self._doc(user_id, file_id)
        parts: list[bytes] = []
        for n in range(int(doc.get("chunks", 0))):
            chunk = await self._do(
                "read_file", functools.partial(self.chunks.find_one, {"_id": f"{file_id}:{n}"})
            )
            if chunk is None:
                raise NotFoundError("no such file")  # deleted meanwhile
            parts.append(bytes(chunk["data"]))
        return _detail(doc), b"".join(parts)

    async def list_files(self, user_id: str, conversation_id: str) -> list[FilePublic]:
        async def run() -> list[Doc]:
            cursor = self.files.find(
                {"user_id": user_id, "conversation_id": conversation_id}, {"text": 0}
            ).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
            return await cursor.to_list()

        return [_public(d) for d in await self._do("list_files", run)]

    async def delete_file(self, user_id: str, file_id: str) -> None:
        doc = await self._doc(user_id, file_id)
        await self._do("delete_file", lambda: self.files.delete_one({"_id": file_id}))
        await self._do(
            "delete_file",
            lambda: self.chunks.delete_many(
                {"user_id": user_id, "conversation_id": doc["conversation_id"],
                 "file_id": file_id}),
        )

    async def delete_conversation_files(self, user_id: str, conversation_id: str) -> int:
        scope = {"user_id": user_id, "conversation_id": conversation_id}
        res = await self._do("delete_files", lambda: self.files.delete_many(scope))
        await self._do("delete_files", lambda: self.chunks.delete_many(scope))
        return int(res.deleted_count)
