"""The MongoDB-wire test server: FerretDB v1.24.2 on SQLite, built once with Go.

``scripts/build-ferretdb.sh`` builds it into ``~/.cache/chatbot/ferretdb-v1.24.2/`` (a no-op
when cached). ``MongoServer`` starts it on a free loopback port with its own data directory,
stops it by PID and can restart it on the same port and directory (for chaos tests).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .processes import REPO_ROOT, Proc, free_port, start_process

VERSION = "v1.24.2"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-ferretdb.sh"


def ferretdb_binary() -> Path:
    """Path of the built binary, building it first when needed (~60 s cold)."""
    out = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], check=True, capture_output=True, text=True, timeout=900
    )
    path = Path(out.stdout.strip().splitlines()[-1])
    if not path.is_file():
        raise RuntimeError(f"build-ferretdb.sh printed no binary:\n{out.stdout}{out.stderr}")
    return path


class MongoServer:
    """One FerretDB process; ``uri`` stays the same across ``stop()`` / ``start()``."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ferretdb-")
            data_dir = Path(self._tmp.name)
        self.data_dir = data_dir
        self.port = port or free_port()
        self.binary = ferretdb_binary()
        self.proc: Proc | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> MongoServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = start_process(
            "ferretdb",
            [str(self.binary), "-listen", f"127.0.0.1:{self.port}", "-dir", str(self.data_dir)],
            port=self.port,
            health_path=None,
            timeout=30,
        )
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def close(self) -> None:
        """Stop the server and remove its temporary data directory (if we made it)."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> MongoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_mongo_server(data_dir: Path | None = None, port: int | None = None) -> MongoServer:
    """Build if needed and start a FerretDB server; returns it (``.uri``, ``.stop()``)."""
    return MongoServer(data_dir, port).start()


def mongo_server_fixture() -> Iterator[MongoServer]:
    """Body of a session fixture: ``mongo_server = pytest.fixture(scope="session")(...)``."""
    server = start_mongo_server()
    try:
        yield server
    finally:
        server.close()
