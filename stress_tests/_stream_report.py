"""`make bench`'s view of stream_benchmark: the plot and the summary rows against the targets.

Levels are ``(system, token_ms, concurrency)``: the system as `make run` runs it, and the
single-process relay (the floor of this stack) measured in the same run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

Row = list[Any]


def _level(stream: dict[str, Any], system: str, token_ms: float, n: int) -> dict[str, Any] | None:
    for lv in stream.get("levels", []):
        if (lv["system"], lv["token_ms"], lv["concurrency"]) == (system, token_ms, n):
            return lv
    return None


def _verdict(value: Any, ok: bool | None) -> str:
    return "-" if ok is None or value is None else ("met" if ok else "missed")


def rows(stream: dict[str, Any] | None) -> list[Row]:
    """Summary rows: CPU vs the floor, 5 vs 20 ms/token, overload behaviour."""
    if not stream or not stream.get("levels"):
        return [["stream benchmark", "n/a", "-", "-"]]
    out: list[Row] = []
    for r in stream.get("ratios", []):
        if r["token_ms"] == 20 and r["concurrency"] in (50, 200):
            ratio = r["ratio"]
            out.append([f"CPU/token vs relay @ {r['concurrency']} streams, 20 ms "
                        f"({r['system_us']} / {r['relay_us']} µs)", ratio, "≤ 1.5 x",
                        _verdict(ratio, None if ratio is None else ratio <= 1.5)])
    fast, slow = _level(stream, "system", 5.0, 100), _level(stream, "system", 20.0, 100)
    if fast and slow and fast["cpu_us_per_token"] and slow["cpu_us_per_token"]:
        share = round(fast["cpu_us_per_token"] / slow["cpu_us_per_token"], 2)
        out.append([f"CPU/token 5 ms vs 20 ms @ 100 streams ({fast['cpu_us_per_token']} / "
                    f"{slow['cpu_us_per_token']} µs)", share, "≤ 0.5",
                    _verdict(share, share <= 0.5)])
    for token_ms in (20.0, 5.0):
        for n in (200, 500):
            lv = _level(stream, "system", token_ms, n)
            if lv is None:
                continue
            p99 = lv["added_completion_ms"]["p99"]
            refused_p99 = lv["refused_within_ms"]["p99"]
            out.append([f"{n} streams {token_ms:g} ms: admitted {lv['completed']}, added "
                        f"completion p99 (ms)", p99, "≤ 1000",
                        _verdict(p99, None if p99 is None else p99 <= 1000)])
            relay = _level(stream, "relay", token_ms, n)
            floor = relay["ack_ms"]["p99"] if relay else None
            out.append([f"{n} streams {token_ms:g} ms: refused {lv['refused']} of one burst, "
                        f"within p99 (ms; the relay acks such a burst in {floor})",
                        refused_p99, "≤ 100",
                        _verdict(refused_p99, None if refused_p99 is None else refused_p99 <= 100)])
            late = lv.get("late_refused_within_ms", {}).get("p99")
            if lv.get("late_arrivals"):
                out.append([f"{n} streams {token_ms:g} ms: arriving while full, refused "
                            f"{lv['late_refused']}/{lv['late_arrivals']}, within p99 (ms)",
                            late, "≤ 100", _verdict(late, None if late is None else late <= 100)])
            bad = lv["failed"] + (lv["lost"] or 0) + lv["text_mismatches"]
            out.append([f"{n} streams {token_ms:g} ms: failed + lost + mismatched", bad, "0",
                        _verdict(bad, bad == 0)])
    return out


def plot(stream: dict[str, Any] | None, out: Path) -> Path | None:
    """Added TTFT p99, added completion p99 and CPU per token vs streams, per series."""
    if not stream or not stream.get("levels"):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for lv in stream["levels"]:
        series.setdefault((lv["system"], lv["token_ms"]), []).append(lv)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for (system, token_ms), lvs in sorted(series.items()):
        lvs = sorted(lvs, key=lambda x: x["concurrency"])
        n = [x["concurrency"] for x in lvs]
        label = f"{system}, {token_ms:g} ms/token"
        style = "o-" if system == "system" else "s--"
        axes[0].plot(n, [x["added_ttft_ms"]["p99"] for x in lvs], style, label=label)
        axes[1].plot(n, [x["added_completion_ms"]["p99"] for x in lvs], style, label=label)
        axes[2].plot(n, [x["cpu_us_per_token"] for x in lvs], style, label=label)
    axes[0].set(title="Added time to first token, p99 (admitted)", xlabel="concurrent streams",
                ylabel="ms (symlog)")
    axes[1].set(title="Added completion time, p99 (admitted)", xlabel="concurrent streams",
                ylabel="ms (symlog)")
    axes[1].axhline(1000, color="red", ls=":", label="target 1 s")
    axes[2].set(title="CPU per relayed token (all processes)", xlabel="concurrent streams",
                ylabel="CPU µs / token")
    for ax in axes[:2]:
        ax.set_yscale("symlog", linthresh=1)
    for ax in axes:
        ax.legend(fontsize=8)
    cfg = stream["config"]
    fig.suptitle(f"Fake upstream: TTFT {cfg['ttft_ms']:.0f} ms, {cfg['tokens']} tokens; "
                 f"system = make run's configuration, relay = single-process python-socketio "
                 f"floor; load average at start {stream.get('load_average_at_start')}")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
