"""Files in the LLM context (attachments.py): documents as text before the question, images
as image_url parts, one history call for all of a context's files."""

from __future__ import annotations

from typing import Any

from chat_service.answer import context_of
from chat_service.attachments import expand_files, with_files


class _History:
    def __init__(self, files: list[dict[str, Any]]) -> None:
        self.files = files
        self.asked: list[list[str]] = []

    async def file_contents(self, user_id: str, ids: list[str]) -> list[dict[str, Any]]:
        self.asked.append(ids)
        return [f for f in self.files if f["id"] in ids]


DOC = {"id": "f1", "name": "data.csv", "media_type": "text/csv", "kind": "document",
       "size": 9, "text": "a,b\n1,2"}
IMG = {"id": "f2", "name": "dot.png", "media_type": "image/png", "kind": "image", "size": 3,
       "data_base64": "AAAA"}


def test_documents_go_before_the_question_as_one_string() -> None:
    content = with_files("What is b?", [DOC])
    assert content == '<file name="data.csv" type="text/csv">\na,b\n1,2\n</file>\n\nWhat is b?'


def test_images_become_image_url_parts() -> None:
    content = with_files("Describe", [DOC, IMG])
    assert isinstance(content, list)
    assert content[0]["type"] == "text" and content[0]["text"].endswith("Describe")
    assert content[1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


async def test_expand_reads_all_files_at_once_and_drops_refs() -> None:
    recent = [
        {"role": "user", "content": "first", "status": "complete", "files": [
            {k: DOC[k] for k in ("id", "name", "media_type", "kind", "size")}]},
        {"role": "assistant", "content": "ok", "status": "complete"},
        {"role": "user", "content": "gone?", "status": "complete", "files": [
            {"id": "f9", "name": "old.txt", "media_type": "text/plain", "kind": "document",
             "size": 1}]},
        {"role": "assistant", "content": "", "status": "streaming"},
    ]
    history = _History([DOC])
    context = context_of("Be brief.", recent)
    assert [m.get("files") is not None for m in context] == [False, True, False, True]
    out = await expand_files(history, "u", context)  # type: ignore[arg-type]
    assert history.asked == [["f1", "f9"]]
    assert all("files" not in m for m in out)
    assert out[1]["content"].startswith('<file name="data.csv"') and "a,b\n1,2" in out[1]["content"]
    assert out[3]["content"] == "[attached file old.txt is no longer available]\n\ngone?"


async def test_no_files_no_history_call() -> None:
    history = _History([])
    out = await expand_files(history, "u", [{"role": "user", "content": "hi"}])  # type: ignore[arg-type]
    assert out == [{"role": "user", "content": "hi"}] and history.asked == []
