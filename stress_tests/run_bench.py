"""`make bench`: every benchmark against the fake upstream, plots and a summary table.

Runs, each as its own process (so one failing does not stop the others):
  stream_benchmark   added TTFT / per-token delay / CPU per token vs concurrency
  websocket_test     memory per idle connection, connect rate
  database_test      history throughput (the history teammate's script)
  llm_gateway_benchmark  LLM gateway vs LiteLLM (the LLM teammate's script)
then draws PNG plots (matplotlib, Agg) into results/ and prints the table against the targets.

    uv run python -m stress_tests.run_bench            # the real run (a few minutes)
    uv run python -m stress_tests.run_bench --quick    # seconds
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from stress_tests import _harness, _stream_report
from stress_tests._harness import print_table, write_result
from tests.support.processes import REPO_ROOT

STEPS: dict[str, tuple[list[str], list[str], float]] = {
    # name: (full args, quick args, timeout seconds)
    "stream_benchmark": ([], ["--quick"], 3600),
    "websocket_test": (["--connections", "10000", "--workers", "4", "--timeout", "200"],
                       ["--quick"], 400),
    "database_test": ([], ["--quick"], 240),
    "llm_gateway_benchmark": ([], ["--quick"], 240),
}


def run_step(name: str, quick: bool) -> dict[str, Any]:
    full, fast, timeout = STEPS[name]
    script = REPO_ROOT / "stress_tests" / f"{name}.py"
    if not script.exists():
        return {"status": "missing", "detail": f"{script.relative_to(REPO_ROOT)} not found"}
    argv = [sys.executable, "-m", f"stress_tests.{name}", *(fast if quick else full)]
    print(f"\n=== {name}: {' '.join(argv[2:])}", flush=True)
    t0 = time.monotonic()
    # its own process group: on a timeout, SIGINT lets the script stop what it started, and
    # whatever is left of the group (its services, its client processes) is then killed
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, start_new_session=True)
    try:
        code = proc.wait(timeout)
        status = "ok" if code == 0 else f"exit {code}"
    except subprocess.TimeoutExpired:
        status = f"timeout after {timeout:.0f} s"
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of this step's own group only
    return {"status": status, "seconds": round(time.monotonic() - t0, 1)}


def load(name: str) -> dict[str, Any] | None:
    path = _harness.RESULTS_DIR / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find_number(data: Any, *keys: str) -> float | None:
    """The first numeric value under any of ``keys`` anywhere in ``data`` (depth first)."""
    if isinstance(data, dict):
        for k in keys:
            v = data.get(k)
            if isinstance(v, int | float) and not isinstance(v, bool):
                return float(v)
        for v in data.values():
            found = find_number(v, *keys)
            if found is not None:
                return found
    elif isinstance(data, list):
        for v in data:
            found = find_number(v, *keys)
            if found is not None:
                return found
    return None


def plot(stream: dict[str, Any] | None, ws: dict[str, Any] | None) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[str] = []
    png = _stream_report.plot(stream, _harness.RESULTS_DIR / "stream_benchmark.png")
    if png is not None:
        made.append(str(png.relative_to(REPO_ROOT)))
    if ws and ws.get("connected"):
        rss = ws["chat_rss_bytes"]
        fig, ax = plt.subplots(figsize=(6, 4.5))
        labels = ["before", f"{ws['connected']} idle", "+ chatting"]
        ax.bar(labels, [rss["before"] / 2**20, rss["idle_connections"] / 2**20,
                        rss["after_chat"] / 2**20], color=["grey", "tab:blue", "tab:orange"])
        ax.set(ylabel="chat process RSS (MiB)",
               title=f"{ws['kib_per_idle_connection']} KiB per idle connection "
                     f"(target ≤ 16), {ws['connects_per_second']} connects/s")
        fig.tight_layout()
        out = _harness.RESULTS_DIR / "websocket_test.png"
        fig.savefig(out, dpi=100)
        plt.close(fig)
        made.append(str(out.relative_to(REPO_ROOT)))
    return made


def summarize(steps: dict[str, Any]) -> list[list[Any]]:
    stream, ws = load("stream_benchmark"), load("websocket_test")
    db, gw = load("database"), load("llm_gateway_benchmark") or load("llm_gateway")
    def row(metric: str, value: Any, target: str, ok: bool | None) -> list[Any]:
        verdict = "-" if ok is None or value is None else ("met" if ok else "missed")
        return [metric, value if value is not None else "n/a", target, verdict]

    def le(v: Any, t: float) -> bool | None:
        return None if v is None else v <= t

    kib = (ws or {}).get("kib_per_idle_connection")
    conns = (ws or {}).get("connected")
    inserts = find_number(db, "inserts_per_second", "insert_per_second", "inserts_per_s",
                          "messages_per_second")
    ours, theirs = (gw or {}).get("llm_service") or {}, (gw or {}).get("litellm") or {}
    ours_ttft = find_number(ours.get("added_ttft_ms"), "p50")
    theirs_ttft = find_number(theirs.get("added_ttft_ms"), "p50")
    ours_rps = find_number(ours.get("throughput"), "requests_per_second")
    theirs_rps = find_number(theirs.get("throughput"), "requests_per_second")
    rows = [
        *_stream_report.rows(stream),
        row("idle connections on one chat process", conns, "≥ 10000",
            None if conns is None else conns >= 10_000),
        row("memory per idle connection (KiB)", kib, "≤ 16", le(kib, 16)),
        row("history inserts/s", inserts, "≥ 3000", None if inserts is None else inserts >= 3000),
        row("LLM gateway added TTFT p50 (ms): ours", ours_ttft, f"LiteLLM {theirs_ttft}",
            None if ours_ttft is None or theirs_ttft is None else ours_ttft <= theirs_ttft),
        row("LLM gateway requests/s: ours", ours_rps, f"LiteLLM {theirs_rps}",
            None if ours_rps is None or theirs_rps is None else ours_rps >= theirs_rps),
    ]
    for name, st in steps.items():
        rows.append([f"step {name}", st["status"], f"{st.get('seconds', '-')} s", "-"])
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default=",".join(STEPS), help="comma-separated steps")
    p.add_argument("--no-run", action="store_true", help="only plot and summarize results/")
    args = p.parse_args(argv)
    steps: dict[str, Any] = {}
    if not args.no_run:
        for name in args.only.split(","):
            steps[name] = run_step(name, args.quick)
    plots = plot(load("stream_benchmark"), load("websocket_test"))
    print("\n=== summary (2-core machine; targets are goals, not gates)")
    rows = summarize(steps)
    table = print_table(rows, ["metric", "measured", "target", "verdict"])
    out: Path = write_result("bench_summary", {"quick": args.quick, "steps": steps,
                                               "plots": plots, "table": table.splitlines()})
    print(f"plots: {', '.join(plots) or 'none'}\nsummary: {out}")
    return 0 if all(s["status"] in ("ok", "missing") for s in steps.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
