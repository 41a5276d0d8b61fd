"""Fixtures shared by the integration tests: the whole system as real processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from tests.support.keycloak import Keycloak, attach_keycloak, start_keycloak
from tests.support.mongo_server import MongoServer
from tests.support.stack import Stack, start_stack

# `make test` runs the suite in pytest-xdist workers. The tests of these files share one worker,
# so the session fixture they need, too costly to start twice, starts once: Keycloak (a JVM,
# a minute of CPU on a busy machine). Done by a scheduler of our own because pytest 9.2 drops
# the `xdist_group` marks of `--dist loadgroup` (pytest-dev/pytest-xdist#1386).
ONE_WORKER = {
    "tests/test_accounts_e2e.py": "keycloak",
    "tests/browser/test_ui_oidc.py": "keycloak",
}


class GroupedScheduling(LoadScopeScheduling):
    """``--dist load``, except that the files of ``ONE_WORKER`` go to one worker."""

    def _split_scope(self, nodeid: str) -> str:
        return ONE_WORKER.get(nodeid.split("::", 1)[0], nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> GroupedScheduling:
    return GroupedScheduling(config, log)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running system for the session (fake upstream, history, LLM, chat, UI)."""
    s = start_stack(Path(tmp_path_factory.mktemp("stack")))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def mongo(tmp_path: Path) -> Iterator[MongoServer]:
    """A MongoDB-wire server (FerretDB) of the test's own, restartable on the same port."""
    with MongoServer(data_dir=tmp_path / "ferretdb") as server:
        yield server


@pytest.fixture(scope="session")
def keycloak() -> Iterator[Keycloak]:
    """A real OpenID Connect provider (Keycloak, realm ``chatbot``), once per session.

    ``KEYCLOAK_TEST_PORT`` names one already running (``python -m tests.support.keycloak``,
    for a quicker edit-test loop); it is left running."""
    if os.environ.get("KEYCLOAK_TEST_PORT"):
        yield attach_keycloak(int(os.environ["KEYCLOAK_TEST_PORT"]))
        return
    kc = start_keycloak()
    try:
        yield kc
    finally:
        kc.stop()
