"""The MongoDB-wire test server: FerretDB v1.24.2 on SQLite, built once with Go.

``scripts/build-ferretdb.sh`` builds it into ``~/.cache/chatbot/ferretdb-v1.24.2/`` before pytest
starts (``make test`` runs it through ``scripts/test-prereqs.sh``; fixtures never build).
``MongoServer`` starts it on a free loopback port with its own data directory,
stops it by PID and can restart it on the same port and directory (for chaos tests).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import REPO_ROOT, Proc, free_port, start_process

VERSION = "v1.24.2"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-ferretdb.sh"
# The history stores that store-parametrised tests run on: embedded SQLite, FerretDB and,
# when ``MONGODB_TEST_URI`` names one, a real MongoDB.
STORES = [
    "sqlite",
    pytest.param("mongo", marks=pytest.mark.mongo),
    *(
        [pytest.param("mongo-external", marks=pytest.mark.mongo)]
        if os.environ.get("MONGODB_TEST_URI")
        else []
    ),
]


def ferretdb_binary() -> Path:
    """Path of the binary ``scripts/build-ferretdb.sh`` built (the same place it writes to)."""
    cache = Path(os.environ.get("CHATBOT_CACHE") or Path.home() / ".cache" / "chatbot")
    path = cache / f"ferretdb-{VERSION}" / "ferretdb"
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"FerretDB is not built ({path} is missing): run `scripts/test-prereqs.sh ferretdb` "
            "(`make test` runs it before pytest)"
        )
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
            timeout=120,
        )
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def kill(self) -> None:
        """A crash: SIGKILL, no chance to flush or close anything (restart with ``start()``)."""
        if self.proc is not None:
            self.proc.kill()
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
