"""``/v1/files``: files attached to conversations (store, read, delete) and their contents for
the LLM context. The bytes travel as the raw request / response body."""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated

from chatbot_common.contract import FileRef, new_id, now_iso, valid_id
from chatbot_common.errors import InvalidError, NotFoundError, TooLargeError
from fastapi import APIRouter, Query, Request, Response, status

from ...files import (
    NAME_PATTERN,
    FileContent,
    FileContents,
    FileDetail,
    FileIds,
    FilePublic,
    FilesPublic,
    extract_text,
    sniff,
)
from ...repository import FilesRepository
from ..deps import FileId, FilesDep, InternalAuth, SettingsDep, UserId, checked_id

router = APIRouter(prefix="/v1/files", tags=["files"], dependencies=[InternalAuth])


async def file_refs(
    files: FilesRepository, user_id: str, conversation_id: str, ids: list[str]
) -> list[FileRef] | None:
    """The stored files ``ids`` of this user's conversation, as a message names them."""
    refs: list[FileRef] = []
    for file_id in dict.fromkeys(ids):
        if not valid_id(file_id):
            raise NotFoundError("no such file")
        found = await files.get_file(user_id, file_id)
        if found.conversation_id != conversation_id:
            raise NotFoundError("no such file in this conversation")
        refs.append(FileRef(**found.model_dump(include=set(FileRef.model_fields))))
    return refs or None


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_file(
    request: Request,
    conversation_id: Annotated[str, Query(min_length=1, max_length=64)],
    name: Annotated[str, Query(pattern=NAME_PATTERN)],
    user_id: UserId,
    files: FilesDep,
    settings: SettingsDep,
) -> FilePublic:
    conversation_id = checked_id(conversation_id, "conversation")
    data = await request.body()
    if len(data) > settings.max_file_bytes:
        raise TooLargeError(
            f"a file may have at most {settings.max_file_bytes} bytes",
            limit=settings.max_file_bytes,
        )
    if not data:
        raise InvalidError("the file is empty")
    kind, media_type = sniff(name, data)
    text = None
    if kind == "document":
        text = await asyncio.to_thread(
            extract_text, media_type, data, settings.max_file_text_chars
        )
    file = FileDetail(
        id=new_id(), conversation_id=conversation_id, name=name, media_type=media_type,
        size=len(data), kind=kind, created_at=now_iso(), text=text,
        text_chars=len(text) if text is not None else None,
    )
    return await files.add_file(user_id, file, data, settings.max_user_file_bytes)


@router.get("")
async def list_files(
    conversation_id: Annotated[str, Query(min_length=1, max_length=64)],
    user_id: UserId,
    files: FilesDep,
) -> FilesPublic:
    cid = checked_id(conversation_id, "conversation")
    return FilesPublic(files=await files.list_files(user_id, cid))


@router.post("/contents")
async def file_contents(body: FileIds, user_id: UserId, files: FilesDep) -> FileContents:
    """Texts (documents) and bytes (images, base64) of the user's files, for the context."""
    found: list[FileContent] = []
    for file_id in dict.fromkeys(body.ids):
        if not valid_id(file_id):
            continue
        try:
            meta = await files.get_file(user_id, file_id)
            item = FileContent(**meta.model_dump(include={*FileRef.model_fields, "text"}))
            if meta.kind == "image":
                _, data = await files.read_data(user_id, file_id)
                item.data_base64 = base64.b64encode(data).decode("ascii")
        except NotFoundError:
            continue  # deleted meanwhile: the message keeps its name only
        found.append(item)
    return FileContents(files=found)


@router.get("/{file_id}")
async def get_file(file_id: FileId, user_id: UserId, files: FilesDep) -> FileDetail:
    return await files.get_file(user_id, file_id)


@router.get("/{file_id}/content")
async def get_content(file_id: FileId, user_id: UserId, files: FilesDep) -> Response:
    meta, data = await files.read_data(user_id, file_id)
    return Response(data, media_type=meta.media_type)


@router.delete("/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_file(file_id: FileId, user_id: UserId, files: FilesDep) -> Response:
    await files.delete_file(user_id, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
