"""Fixtures: every repository test runs against each store.

- ``sqlite``: a file in the test's tmp_path.
- ``mongo``: FerretDB (MongoDB wire protocol) built and started once per session.
- ``mongo-external``: a real MongoDB at ``MONGODB_TEST_URI``, only when that is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from history_service.repository import (
    FilesRepository,
    HistoryRepository,
    create_files_repository,
    create_repository,
)
from history_service.settings import HistorySettings

from tests.support.mongo_server import STORES, MongoServer, mongo_server_fixture


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[MongoServer]:
    yield from mongo_server_fixture()


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> HistorySettings:
    """Settings selecting the parametrized store; a fresh database for each test."""
    env: dict[str, str] = {
        "STATE_DIR": str(tmp_path),
        "MONGODB_DATABASE": f"test_{uuid.uuid4().hex[:12]}",
    }
    if request.param == "mongo":
        server: MongoServer = request.getfixturevalue("mongo_server")
        env["MONGODB_URI"] = server.uri
    elif request.param == "mongo-external":
        env["MONGODB_URI"] = os.environ["MONGODB_TEST_URI"]
    return HistorySettings(**env)  # type: ignore[arg-type]


async def _opened(settings: HistorySettings) -> HistoryRepository:
    repository = create_repository(settings)
    await repository.open()
    return repository


@pytest.fixture
async def repo(settings: HistorySettings) -> AsyncIterator[HistoryRepository]:
    repository = await _opened(settings)
    try:
        yield repository
    finally:
        if settings.mongodb_uri:
            inner = repository.inner  # type: ignore[attr-defined]
            await inner.client.drop_database(inner.db.name)
        await repository.close()


@pytest.fixture
async def mongo_repo(
    mongo_server: MongoServer, tmp_path: Path
) -> AsyncIterator[HistoryRepository]:
    """A MongoDB store alone (not parametrized), on a database of its own, for tests that
    write documents directly (``.inner``: its collections), as earlier versions stored them."""
    settings = HistorySettings(  # type: ignore[call-arg]
        STATE_DIR=str(tmp_path), MONGODB_URI=mongo_server.uri,
        MONGODB_DATABASE=f"test_{uuid.uuid4().hex[:12]}")
    repository = await _opened(settings)
    inner = repository.inner  # type: ignore[attr-defined]
    try:
        yield repository
    finally:
        await inner.client.drop_database(inner.db.name)
        await repository.close()


@pytest.fixture
async def second_replica(
    settings: HistorySettings, repo: HistoryRepository
) -> AsyncIterator[HistoryRepository]:
    """Another repository on the same store, as a second history replica would have."""
    repository = await _opened(settings)
    try:
        yield repository
    finally:
        await repository.close()


@pytest.fixture
async def files(
    settings: HistorySettings, repo: HistoryRepository
) -> AsyncIterator[FilesRepository]:
    """The files store beside ``repo`` (MongoDB: on the same client and database)."""
    client = repo.inner.client if settings.mongodb_uri else None  # type: ignore[attr-defined]
    store = create_files_repository(settings, client)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
