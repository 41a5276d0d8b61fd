"""Shared helpers of the stress, chaos and benchmark scripts.

Every script: argparse, a ``--quick`` mode that runs in seconds, progress through tqdm, results
written to ``results/<name>.json``, traffic to 127.0.0.1 only, and only its own processes stopped.
"""

from __future__ import annotations

import contextlib
import json
import math
import resource
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from chatbot_common.tokens import issue_guest_token
from tqdm import tqdm

from tests.support.processes import REPO_ROOT, Proc
from tests.support.stack import Stack, start_stack

RESULTS_DIR = REPO_ROOT / "results"
# Load generators are one user sending fast, or many users from one address: the chat service's
# per-user rate limits (generous for people) are raised for them; everything else is default.
LOAD_CHAT_ENV = {"RATE_EVENTS_PER_SECOND": "100000", "RATE_MESSAGES_PER_MINUTE": "100000",
                 "RATE_TOKENS_PER_DAY": "1000000000", "MAX_CONNECTIONS_PER_USER": "100000"}
# When set (by the smoke tests), scripts reuse this running stack instead of starting their own.
ATTACH: Stack | None = None


def write_result(name: str, data: Mapping[str, Any], results_dir: Path | None = None) -> Path:
    """Write ``results/<name>.json`` (pretty, stable key order) and return its path."""
    out = (results_dir or RESULTS_DIR) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"name": name, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               **data}
    out.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
    return out


def progress(total: int | None, desc: str, **kw: Any) -> tqdm:
    """A tqdm bar on stderr (quiet when stderr is not a terminal: one line per update)."""
    return tqdm(total=total, desc=desc, file=sys.stderr, dynamic_ncols=True, leave=True,
                mininterval=0.5, **kw)


def raise_nofile(wanted: int = 65536) -> int:
    """Raise RLIMIT_NOFILE (soft, and hard when root) so children inherit it; return the soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, wanted)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(hard, target)))
    with contextlib.suppress(ValueError, OSError):
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(target, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return float(ordered[k])


def summary(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """count, p50, p90, p99, max and mean of ``values``, rounded."""
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, digits)

    return {
        "count": len(values),
        "p50": r(percentile(values, 50)),
        "p90": r(percentile(values, 90)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values) if values else None),
        "mean": r(statistics.fmean(values) if values else None),
    }


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys over xs."""
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return None if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def guest_token(stack_or_secret: Stack | str) -> str:
    """A fresh guest token signed with the stack's AUTH_SECRET (no HTTP round trip)."""
    secret = stack_or_secret if isinstance(stack_or_secret, str) else stack_or_secret.auth_secret
    with warnings.catch_warnings():  # test secrets are short; PyJWT warns about HMAC key length
        warnings.simplefilter("ignore")
        return issue_guest_token(secret, 3600)[0]


def fake_upstream_env(ttft_ms: float, token_ms: float, tokens: int) -> dict[str, str]:
    return {"FAKE_TTFT_MS": str(ttft_ms), "FAKE_TOKEN_MS": str(token_ms),
            "FAKE_TOKENS": str(tokens)}


@contextlib.contextmanager
def running_stack(
    *, upstream_env: Mapping[str, str] | None = None, chat_env: Mapping[str, str] | None = None,
    llm_env: Mapping[str, str] | None = None, state_dir: Path | None = None,
) -> Iterator[Stack]:
    """Start the whole system as real processes (in a temporary state dir) and stop it after."""
    raise_nofile()
    if ATTACH is not None:
        yield ATTACH
        return
    with contextlib.ExitStack() as es:
        if state_dir is None:
            state_dir = Path(es.enter_context(tempfile.TemporaryDirectory(prefix="stress-")))
        stack = start_stack(state_dir / "state", upstream_env=upstream_env,
                            chat_env={**LOAD_CHAT_ENV, **(chat_env or {})}, llm_env=llm_env)
        try:
            yield stack
        finally:
            stack.stop()


@dataclass
class CpuMeter:
    """CPU seconds (user + system) used by a set of processes between start() and stop()."""

    pids: dict[str, int]

    def _now(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, pid in self.pids.items():
            try:
                t = psutil.Process(pid).cpu_times()
                out[name] = t.user + t.system
            except psutil.Error:
                out[name] = float("nan")
        return out

    def start(self) -> None:
        self._t0 = self._now()

    def stop(self) -> dict[str, float]:
        t1 = self._now()
        return {name: round(t1[name] - self._t0[name], 4) for name in self.pids}


def service_pids(stack: Stack, include_upstream: bool = False) -> dict[str, int]:
    procs: Iterable[Proc] = [stack.history, stack.llm, stack.chat, stack.ui]
    if include_upstream:
        procs = [*procs, stack.upstream]
    return {p.name: p.pid for p in procs}


def rss_bytes(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def print_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain-text table (returned and printed)."""
    cells = [[str(h) for h in headers], *[[("" if c is None else str(c)) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    text = "\n".join(lines)
    print(text)
    return text
