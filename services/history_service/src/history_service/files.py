"""Files attached to a conversation: their models, and what a file is (sniffed, never trusted).

A file is one of two kinds:

- ``document``: text, code, Markdown, CSV (UTF-8 text without NUL bytes) or PDF (``%PDF-``);
  its text is extracted here, once, when it is stored (PDF through ``pypdf``) and capped at
  ``MAX_FILE_TEXT_CHARS``.
- ``image``: PNG, JPEG, GIF or WebP, recognised by their magic bytes; sent to vision models as
  an OpenAI-style ``image_url`` content part.

The media type is decided from the bytes (and, for text, the file name's extension), never
from what the client declared: an image is an image because it starts like one.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Literal

from chatbot_common.contract import FileRef
from chatbot_common.errors import InvalidError
from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

Kind = Literal["document", "image"]

#: File names as stored and shown: no path, no control characters.
NAME_PATTERN = r"^[^\x00-\x1f/\\]{1,200}$"

_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_TEXT_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "json": "application/json",
}  # HTML, SVG, XML …: text/plain (a browser never renders what we serve as a file)
_TRUNCATED = "\n[… the rest of this file was cut: it is longer than {limit} characters]"


class FilePublic(FileRef):
    conversation_id: str
    created_at: str
    text_chars: int | None = None  # documents: length of the extracted text


class FileDetail(FilePublic):
    """A file with its extracted text (documents) for the LLM context."""

    text: str | None = None


class FilesPublic(BaseModel):
    files: list[FilePublic]


class FileContent(FileRef):
    """What the chat service needs to put a file into the LLM context."""

    text: str | None = None
    data_base64: str | None = None  # images only


class FileContents(BaseModel):
    files: list[FileContent]


class FileIds(BaseModel):
    ids: list[str] = Field(max_length=1000)


def sniff(name: str, data: bytes) -> tuple[Kind, str]:
    """``(kind, media_type)`` of the bytes; ``InvalidError`` for anything we do not take."""
    for magic, media_type in _IMAGES:
        if data.startswith(magic):
            return "image", media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image", "image/webp"
    if data.startswith(b"%PDF-"):
        return "document", "application/pdf"
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            return "document", _TEXT_TYPES.get(ext, "text/plain")
    raise InvalidError(
        "unsupported file type: attach text, code, Markdown, CSV, PDF or an image "
        "(PNG, JPEG, GIF, WebP)"
    )


def extract_text(media_type: str, data: bytes, limit: int) -> str:
    """The text of a document, at most ``limit`` characters (CPU work: call in a thread)."""
    pdf = media_type == "application/pdf"
    text = _pdf_text(data, limit) if pdf else data.decode("utf-8-sig")
    if len(text) > limit:
        text = text[:limit] + _TRUNCATED.format(limit=limit)
    return text


def _pdf_text(data: bytes, limit: int) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InvalidError("the PDF is encrypted: its text cannot be read")
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            pages.append(text)
            total += len(text)
            if total > limit:
                break
    except PyPdfError as exc:
        raise InvalidError("the PDF could not be read") from exc
    except (ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        log.info("a PDF could not be read", extra={"error": str(exc)[:200]})
        raise InvalidError("the PDF could not be read") from exc
    return re.sub(r"[ \t]+\n", "\n", "\n\n".join(pages)).strip()
