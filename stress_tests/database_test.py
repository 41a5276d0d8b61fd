"""History store benchmark: inserts/s and last-50 read latency as conversations grow.

For each store (the embedded SQLite default and MongoDB — FerretDB on loopback, or a real
server with ``--mongodb-uri``) and each conversation size (1, 1,000, 10,000 messages):

- ``sequential``: one writer appending to that conversation, each insert awaited: the insert
  cost the chat service sees. It should not grow with the conversation (``seq`` comes from an
  index, not a scan).
- ``concurrent``: ``--concurrency`` writers appending to that same conversation at once.
- ``read_last_50``: latency of reading the conversation's last 50 messages.

and per store ``throughput``: ``--concurrency`` writers on as many conversations.

The stores are driven in-process through the repository (what the HTTP handlers call), so
the figures are the store's, without HTTP. Conversations are pre-filled with bulk inserts
(not measured). Every phase is bounded by a count and ``--seconds``. Results:
``results/database.json``.

    uv run python -m stress_tests.database_test            # full run (~1-2 minutes)
    uv run python -m stress_tests.database_test --quick    # seconds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from chatbot_common.contract import new_id, now_iso
from history_service.models import ConversationCreate, MessageCreate
from history_service.repository import HistoryRepository, create_repository
from history_service.settings import HistorySettings

from stress_tests._harness import progress, slope, summary, write_result
from tests.support.mongo_server import MongoServer

USER = "bench-user"
CONTENT = "The quick brown fox jumps over the lazy dog. " * 4  # ~180 characters


def message(i: int) -> MessageCreate:
    return MessageCreate(role="user" if i % 2 else "assistant", content=f"{i} {CONTENT}")


# -- pre-filling (bulk, not measured) ---------------------------------------------------


async def fill(repo: HistoryRepository, settings: HistorySettings, cid: str, n: int) -> None:
    """Give conversation ``cid`` ``n`` messages (seq 1..n) the fast way, store by store."""
    if n <= 0:
        return
    now = now_iso()
    rows = [
        (new_id(), cid, USER, seq, "user" if seq % 2 else "assistant", f"{seq} {CONTENT}",
         "complete", now, now)
        for seq in range(1, n + 1)
    ]  # fmt: skip
    if repo.name == "sqlite":
        await asyncio.to_thread(_fill_sqlite, settings.state_dir / "history.sqlite3", cid, rows)
        return
    inner: Any = repo.inner  # type: ignore[attr-defined]
    docs = [
        {"_id": r[0], "conversation_id": cid, "user_id": USER, "seq": r[3], "role": r[4],
         "content": r[5], "status": "complete", "model": None, "usage": None,
         "client_message_id": None, "cmid": f"m:{r[0]}", "created_at": now, "updated_at": now}
        for r in rows
    ]  # fmt: skip
    for i in range(0, len(docs), 1000):
        await inner.messages.insert_many(docs[i : i + 1000], ordered=False)
    await inner.conversations.update_one(
        {"_id": cid}, {"$set": {"last_seq": n, "message_count": n, "updated_at": now}}
    )


def _fill_sqlite(path: Path, cid: str, rows: list[tuple[Any, ...]]) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db, db:
        db.executemany(
            "INSERT INTO messages (id, conversation_id, user_id, seq, role, content, status,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.execute("UPDATE conversations SET message_count = ? WHERE id = ?", (len(rows), cid))


# -- measurements -----------------------------------------------------------------------


async def sequential(
    repo: HistoryRepository, cid: str, count: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    start = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        await repo.add_message(USER, cid, message(i))
        latencies.append((time.perf_counter() - t) * 1000)
        if time.perf_counter() - start > seconds:
            break
    elapsed = time.perf_counter() - start
    return {
        "inserts": len(latencies),
        "inserts_per_second": round(len(latencies) / elapsed, 1),
        "insert_ms": summary(latencies),
    }


async def concurrent(
    repo: HistoryRepository, cids: list[str], writers: int, count: int, seconds: float
) -> dict[str, Any]:
    """``writers`` tasks, writer k appending to ``cids[k % len(cids)]``, ``count`` in all."""
    done = 0
    start = time.perf_counter()

    async def writer(k: int) -> None:
        nonlocal done
        while done < count and time.perf_counter() - start < seconds:
            done += 1
            await repo.add_message(USER, cids[k % len(cids)], message(done))

    await asyncio.gather(*(writer(k) for k in range(writers)))
    elapsed = time.perf_counter() - start
    return {"writers": writers, "inserts": done, "inserts_per_second": round(done / elapsed, 1)}


async def reads(
    repo: HistoryRepository, cid: str, size: int, count: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    start = time.perf_counter()
    for _ in range(count):
        t = time.perf_counter()
        got = await repo.list_messages(USER, cid, None, 50)
        latencies.append((time.perf_counter() - t) * 1000)
        assert [m.seq for m in got] == list(range(max(1, size - 49), size + 1))
        if time.perf_counter() - start > seconds:
            break
    return {"reads": len(latencies), "read_ms": summary(latencies)}


# -- stores -------------------------------------------------------------------------------


@contextlib.contextmanager
def store_settings(store: str, workdir: Path, mongodb_uri: str | None) -> Iterator[HistorySettings]:
    env = {"STATE_DIR": str(workdir / store)}
    if store == "sqlite":
        yield HistorySettings(**env)  # type: ignore[arg-type]
        return
    env["MONGODB_DATABASE"] = f"bench_{uuid.uuid4().hex[:8]}"
    if mongodb_uri:
        yield HistorySettings(**env, MONGODB_URI=mongodb_uri)  # type: ignore[arg-type]
        return
    with MongoServer(data_dir=workdir / "ferretdb") as server:
        yield HistorySettings(**env, MONGODB_URI=server.uri)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def opened(settings: HistorySettings) -> AsyncIterator[HistoryRepository]:
    repo = create_repository(settings)
    await repo.open()
    try:
        yield repo
    finally:
        if settings.mongodb_uri:
            inner: Any = repo.inner  # type: ignore[attr-defined]
            await inner.client.drop_database(inner.db.name)
        await repo.close()


async def bench_store(settings: HistorySettings, args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in args.sizes.split(",")]
    out: dict[str, Any] = {"sizes": []}
    async with opened(settings) as repo:
        bar = progress(len(sizes) + 1, f"database {repo.name}")
        # Warm-up (not measured): the first writes of a new database grow its files.
        warm = await repo.create_conversation(USER, ConversationCreate(title="warm-up"))
        await concurrent(repo, [warm.id], args.concurrency, args.inserts // 2, args.seconds)
        for size in sizes:
            conv = await repo.create_conversation(USER, ConversationCreate(title=f"size {size}"))
            t = time.perf_counter()
            await fill(repo, settings, conv.id, size)
            fill_s = time.perf_counter() - t
            row = {
                "messages": size,
                "fill_seconds": round(fill_s, 2),
                "read_last_50": await reads(repo, conv.id, size, args.reads, args.seconds),
                "sequential": await sequential(repo, conv.id, args.inserts, args.seconds),
                "concurrent": await concurrent(
                    repo, [conv.id], args.concurrency, args.inserts, args.seconds
                ),
            }
            seqs = [m.seq for m in await repo.list_messages(USER, conv.id, size, 100_000)]
            row["gapless"] = seqs == list(range(size + 1, size + 1 + len(seqs)))
            out["sizes"].append(row)
            bar.update(1)
        convs = [
            (await repo.create_conversation(USER, ConversationCreate())).id
            for _ in range(args.concurrency)
        ]
        out["throughput"] = await concurrent(
            repo, convs, args.concurrency, args.inserts * 4, args.seconds
        )
        bar.update(1)
        bar.close()
    rows = out["sizes"]
    xs = [r["messages"] for r in rows]
    p50s = [r["sequential"]["insert_ms"]["p50"] for r in rows]
    growth = slope(xs, p50s)
    out["insert_p50_ms_growth_per_1000_messages"] = (
        None if growth is None else round(growth * 1000, 4)
    )
    out["sequential_rate_largest_vs_smallest"] = round(
        rows[-1]["sequential"]["inserts_per_second"] / rows[0]["sequential"]["inserts_per_second"],
        2,
    )
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stores: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dbbench-") as tmp:
        for store in args.stores.split(","):
            with store_settings(store, Path(tmp), args.mongodb_uri) as settings:
                stores[store] = await bench_store(settings, args)
    return stores


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    p.add_argument("--stores", default="sqlite,mongo")
    p.add_argument("--sizes", default="1,1000,10000")
    p.add_argument("--inserts", type=int, default=1000, help="inserts per phase (at most)")
    p.add_argument("--reads", type=int, default=200, help="reads per size (at most)")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=5.0, help="time cap of each phase")
    p.add_argument("--mongodb-uri", default=None, help="a real MongoDB instead of FerretDB")
    p.add_argument("--results-dir", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.inserts, args.reads, args.concurrency, args.seconds = (
            "1,1000",
            50,
            10,
            8,
            1.0,
        )
    stores = asyncio.run(run(args))
    headline = stores.get("sqlite") or next(iter(stores.values()))
    result = {
        "quick": args.quick,
        "what": "history store through the repository, in-process; sizes = messages already "
        "in the conversation; times in ms",
        # the default store's concurrent throughput (what `make bench` tabulates)
        "inserts_per_second": headline["throughput"]["inserts_per_second"],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "stores": stores,
    }
    path = write_result("database", result, args.results_dir)
    for name, data in stores.items():
        for row in data["sizes"]:
            print(
                f"{name:7} {row['messages']:>6} msgs: "
                f"seq {row['sequential']['inserts_per_second']:>8}/s "
                f"(p50 {row['sequential']['insert_ms']['p50']} ms), "
                f"{row['concurrent']['writers']} writers "
                f"{row['concurrent']['inserts_per_second']:>8}/s, "
                f"last-50 read p50 {row['read_last_50']['read_ms']['p50']} ms "
                f"p99 {row['read_last_50']['read_ms']['p99']} ms"
            )
        print(
            f"{name:7} throughput over {data['throughput']['writers']} conversations: "
            f"{data['throughput']['inserts_per_second']}/s"
        )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
