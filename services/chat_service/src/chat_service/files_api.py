"""HTTP beside Socket.IO, for bodies larger than one event: files and imports.

- ``POST /v1/files?conversation_id=&name=`` (the file's bytes as the body) → 201 ``{file}``
- ``GET /v1/files/{id}`` → the file's bytes (``Content-Disposition: attachment``)
- ``DELETE /v1/files/{id}`` → 204
- ``POST /v1/imports`` (an exported conversation, JSON) → 201 ``{conversation}``

Each request carries the user's token (``Authorization: Bearer``, the one Socket.IO connects
with); everything is scoped by its user (another user's file is ``not_found``). Errors are
``{"error": {"code", "message"}}`` with the contract's codes. Browsers call these from the
page's origin: CORS allows exactly the origins Socket.IO allows.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from chatbot_common.errors import ForbiddenError, InvalidError, NotFoundError, UnauthorizedError
from chatbot_common.oidc import TokenVerifier
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse

from .history_client import Json
from .importer import import_conversation
from .service import ChatService

router = APIRouter(prefix="/v1", tags=["files"])

_NAME = r"^[^\x00-\x1f/\\]{1,200}$"


def _service(request: Request) -> ChatService:
    service: ChatService = request.app.state.chat
    return service


async def _service_dep(request: Request) -> ChatService:  # async: a def one runs in a thread
    return _service(request)


async def current_user(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> str:
    """The token's user, refused like a Socket.IO connection would be."""
    service = _service(request)
    verifier: TokenVerifier = request.app.state.verifier
    token = (authorization or "").removeprefix("Bearer ").strip()
    if not token:
        raise UnauthorizedError("send the user's token: Authorization: Bearer <token>")
    user = await verifier.verify(token)
    if service.accounts is not None:
        record = await service.accounts.policy(user.id)
        if record is not None and record.get("disabled"):
            raise ForbiddenError("this account is disabled")
    # Requests per second per user, as events per second on a connection.
    await service.limiter.check(user.id, "http", sid=f"http:{user.id}")
    return user.id


async def file_path_id(file_id: str) -> str:
    """An id that cannot be ours is simply not found; it never reaches history."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", file_id):
        raise NotFoundError("no such file")
    return file_id


UserId = Annotated[str, Depends(current_user)]
FileId = Annotated[str, Depends(file_path_id)]
ServiceDep = Annotated[ChatService, Depends(_service_dep)]


@router.post("/files", status_code=status.HTTP_201_CREATED)
async def upload(
    request: Request,
    user_id: UserId,
    service: ServiceDep,
    conversation_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    name: Annotated[str, Query(pattern=_NAME)],
) -> JSONResponse:
    history, _, _ = service.clients()
    conversation = await history.get_conversation(user_id, conversation_id)  # ownership
    data = await request.body()  # at most MAX_FILE_BYTES (the body limit of this path)
    if not data:
        raise InvalidError("the file is empty")
    file = await history.add_file(user_id, conversation_id, name, data)
    model = conversation.get("model") or service.settings.default_model
    if file["kind"] == "image" and not await _takes_images(service, model):
        await history.delete_file(user_id, file["id"])
        raise InvalidError(
            f"the model {model or 'of this conversation'} does not take images; "
            "start a conversation with a vision model"
        )
    return JSONResponse({"file": file}, status_code=status.HTTP_201_CREATED)


async def _takes_images(service: ChatService, model: str | None) -> bool:
    return service.models is not None and await service.models.takes_images(model)


@router.get("/files/{file_id}")
async def download(
    file_id: FileId,
    user_id: UserId,
    service: ServiceDep,
) -> Response:
    history, _, _ = service.clients()
    meta = await history.get_file(user_id, file_id)
    media_type, data = await history.file_data(user_id, file_id)
    safe = re.sub(r'[^A-Za-z0-9._ -]', "_", meta["name"])
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{safe}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })


@router.delete("/files/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(
    file_id: FileId,
    user_id: UserId,
    service: ServiceDep,
) -> Response:
    history, _, _ = service.clients()
    await history.delete_file(user_id, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/imports", status_code=status.HTTP_201_CREATED)
async def imports(request: Request, user_id: UserId, service: ServiceDep) -> JSONResponse:
    try:
        body: Any = await request.json()
    except ValueError as exc:
        raise InvalidError("the import is not JSON") from exc
    conversation: Json = await import_conversation(service, user_id, body)
    return JSONResponse({"conversation": conversation}, status_code=status.HTTP_201_CREATED)

