"""Import a conversation exported as JSON by the page (``exporter.js``), files included.

The export: ``{"format": "chatbot.conversation/1", "conversation": {title, system_prompt?,
model?, sampling?, ...}, "messages": [{role, content, status?, model?, usage?, files?}],
"files": [{id, name, data_base64, ...}]}`` (``format`` and ``files`` may be missing: exports
from before files). Ids, times and counters of the export are not kept: the conversation,
its messages and its files get new ones here. A model this deployment does not offer is
dropped (the default model answers); everything else is checked like the events that make
it (sizes, sampling bounds, images only for vision models). A failed import leaves nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from typing import Annotated, Any, Literal

from chatbot_common.errors import ChatbotError, InvalidError, TooLargeError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .history_client import Json
from .sampling import Sampling, checked
from .schemas import check_text
from .service import ChatService

log = logging.getLogger(__name__)

FileId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ImportedFileRef(_Part):
    id: FileId


class ImportedFile(_Part):
    id: FileId
    name: Annotated[str, Field(pattern=r"^[^\x00-\x1f/\\]{1,200}$")]
    data_base64: str


class ImportedMessage(_Part):
    role: Literal["user", "assistant"]
    content: str
    status: Literal["complete", "streaming", "stopped", "interrupted", "error"] = "complete"
    model: Annotated[str, Field(max_length=200)] | None = None
    usage: dict[str, int] | None = None
    files: list[ImportedFileRef] | None = None


class ImportedConversation(_Part):
    title: str | None = None
    system_prompt: str | None = None
    model: str | None = None
    sampling: Sampling | None = None


class Export(_Part):
    format: Literal["chatbot.conversation/1"] | None = None
    conversation: ImportedConversation
    messages: list[ImportedMessage] = Field(max_length=10_000)
    files: list[ImportedFile] = Field(default_factory=list, max_length=1000)


async def import_conversation(service: ChatService, user_id: str, body: Any) -> Json:
    try:
        export = Export.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidError(f"not an exported conversation: {where}: {first['msg']}") from None
    settings = service.settings
    conv = export.conversation
    check_text("title", conv.title, settings.max_title_chars)
    check_text("system_prompt", conv.system_prompt, settings.max_system_prompt_chars)
    for m in export.messages:
        check_text("content", m.content, settings.max_content_chars, too_long=TooLargeError)
    created: Json = {"title": (conv.title or "").strip() or None,
                     "system_prompt": conv.system_prompt, "model": await _model(service, conv)}
    if conv.sampling is not None:
        created["sampling"] = checked(conv.sampling, settings)
    history, _, _ = service.clients()
    conversation = await history.create_conversation(
        user_id, {k: v for k, v in created.items() if v is not None}
    )
    try:
        ids = await _files(service, user_id, conversation, export.files)
        messages = [_message(m, ids) for m in export.messages]
        if messages:
            await history.import_messages(user_id, conversation["id"], messages)
        return await history.get_conversation(user_id, conversation["id"])
    except BaseException:
        with contextlib.suppress(ChatbotError):
            await history.delete_conversation(user_id, conversation["id"])
        raise


async def _model(service: ChatService, conv: ImportedConversation) -> str | None:
    if conv.model is None or service.models is None:
        return None
    try:
        await service.models.check(conv.model)
    except InvalidError:
        log.info("an imported conversation's model is not offered here: the default answers")
        return None
    return conv.model


async def _files(
    service: ChatService, user_id: str, conversation: Json, files: list[ImportedFile]
) -> dict[str, Json]:
    """Store the export's files in the new conversation: old id → the stored file."""
    history, _, _ = service.clients()
    model = conversation.get("model") or service.settings.default_model
    vision = service.models is not None and await service.models.takes_images(model)
    stored: dict[str, Json] = {}
    for f in files:
        try:
            data = base64.b64decode(f.data_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidError(f"file {f.name!r}: data_base64 is not base64") from exc
        if len(data) > service.settings.max_file_bytes:
            raise TooLargeError(f"file {f.name!r} is larger than "
                                f"{service.settings.max_file_bytes} bytes")
        file = await history.add_file(user_id, conversation["id"], f.name, data)
        if file["kind"] == "image" and not vision:
            raise InvalidError(f"file {f.name!r} is an image and this model does not take images")
        stored[f.id] = file
    return stored


def _message(m: ImportedMessage, files: dict[str, Json]) -> Json:
    message: Json = {"role": m.role, "content": m.content, "status": m.status}
    if m.model:
        message["model"] = m.model
    if m.usage and {"prompt_tokens", "completion_tokens", "total_tokens"} <= m.usage.keys():
        message["usage"] = {k: max(0, m.usage[k])
                            for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    refs = [files[r.id] for r in m.files or () if r.id in files]
    if refs:
        message["files"] = [{k: f[k] for k in ("id", "name", "media_type", "size", "kind")}
                            for f in refs]
    return message
