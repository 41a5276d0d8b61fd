"""Pack one static binary into a single-layer image tarball (docker-save format).

The result is importable with `ctr -n k8s.io images import` and `docker load`, with no
registry and no Docker engine involved. The tarball is reproducible (fixed mtimes, owners).

    python3 mkimage.py --binary out/pause --path /pause --image chatbot.local/pause:1 \
        --out pause.tar
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from pathlib import Path


def _add(tar: tarfile.TarFile, name: str, data: bytes | None, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = mode
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def layer_tar(binary: bytes, path: str) -> bytes:
    """The image's only layer: the binary, a /tmp and an /etc with a minimal passwd."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "etc", None, 0o755)
        _add(tar, "etc/passwd", b"root:x:0:0:root:/:/sbin/nologin\n", 0o644)
        _add(tar, "tmp", None, 0o1777)
        _add(tar, path.lstrip("/"), binary, 0o755)
    return buf.getvalue()


def image_tar(binary: bytes, path: str, image: str) -> bytes:
    layer = layer_tar(binary, path)
    diff_id = hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Entrypoint": [path], "Env": ["PATH=/"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "mkimage.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = f"{diff_id}/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [image], "Layers": [layer_name]}]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, diff_id, None, 0o755)
        _add(tar, layer_name, layer, 0o644)
        _add(tar, config_name, config_bytes, 0o644)
        _add(tar, "manifest.json", json.dumps(manifest).encode(), 0o644)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, required=True)
    parser.add_argument("--path", required=True, help="absolute path of the binary in the image")
    parser.add_argument("--image", required=True, help="image reference, e.g. example.local/x:1")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data = image_tar(args.binary.read_bytes(), args.path, args.image)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
