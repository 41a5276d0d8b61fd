"""Files in the LLM context: the messages that name files get their contents.

A document's extracted text goes before the message's own text, one block per file::

    <file name="report.pdf" type="application/pdf">
    ...the text...
    </file>

so the message stays one string (every OpenAI-compatible server, the built-in local model
included, takes it) and the LLM service's trimming counts it like any text: an older turn with
a large file is dropped whole, a file in the last turn is shortened in the middle. An image
becomes an OpenAI-style ``image_url`` content part (a ``data:`` URL); only vision models get
one (files.py refuses images for the others; the LLM service checks again).
"""

from __future__ import annotations

from typing import Any

from .history_client import HistoryClient, Json


def file_block(name: str, media_type: str, text: str) -> str:
    safe = name.replace('"', "'")
    return f'<file name="{safe}" type="{media_type}">\n{text}\n</file>'


def with_files(content: str, files: list[Json]) -> str | list[Json]:
    """A message's content with its files' contents (see the module docstring)."""
    blocks, images = [], []
    for f in files:
        if f.get("kind") == "image" and f.get("data_base64"):
            url = f"data:{f['media_type']};base64,{f['data_base64']}"
            images.append({"type": "image_url", "image_url": {"url": url}})
        elif f.get("text") is not None:
            blocks.append(file_block(f["name"], f["media_type"], f["text"]))
        else:  # deleted meanwhile, or an image without its bytes: its name at least
            blocks.append(f"[attached file {f.get('name', '?')} is no longer available]")
    text = "\n\n".join([*blocks, content]) if blocks else content
    if not images:
        return text
    return [{"type": "text", "text": text}, *images]


async def expand_files(
    history: HistoryClient, user_id: str, context: list[Json]
) -> list[dict[str, Any]]:
    """The context as the LLM service gets it: files read (one history call) and inlined."""
    ids = [f["id"] for m in context for f in m.get("files") or ()]
    if not ids:
        return [{k: v for k, v in m.items() if k != "files"} for m in context]
    contents = {f["id"]: f for f in await history.file_contents(user_id, ids)}
    expanded: list[dict[str, Any]] = []
    for m in context:
        files = m.get("files")
        message = {k: v for k, v in m.items() if k != "files"}
        if files:
            message["content"] = with_files(
                str(m.get("content") or ""), [contents.get(f["id"], f) for f in files]
            )
        expanded.append(message)
    return expanded
