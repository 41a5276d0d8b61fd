"""Helm tools and chart rendering for the chart tests (no cluster, no Docker)."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CHARTS = REPO / "charts"
CI_VALUES = sorted((REPO / "ci").glob("*-values.yaml"))
SERVICES = ("ui", "chat", "llm", "history")
SERVICE_CHARTS = tuple(f"{s}-service" for s in SERVICES)
APP_CHARTS = (*SERVICE_CHARTS, "mongodb", "redis")
ALL_CHARTS = (*APP_CHARTS, "chatbot")
# Custom resources (the Prometheus operator's, Gateway API's): no schema in kubernetes_validate.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "HTTPRoute"}


def run_checked(argv: list[str]) -> str:
    """Run a tool; on failure raise with its command line and its own output (stderr first)."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr}{result.stdout}"
        )
    return result.stdout


@cache
def tools() -> dict[str, str]:
    """The helm and kubectl binaries ``scripts/test-prereqs.sh helm`` cached (never installs)."""
    out = run_checked([str(REPO / "scripts/helm-tools.sh"), "--check"])
    return dict(line.split("=", 1) for line in out.split())


@cache
def built_charts(workdir: Path) -> Path:
    """A copy of charts/ (links to monitoring/ resolved) with file:// dependencies built."""
    dest = workdir / "charts"
    shutil.copytree(CHARTS, dest, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    for chart in ALL_CHARTS:  # the umbrella last: it packages the built service charts
        run_checked([tools()["HELM3"], "dependency", "build", str(dest / chart)])
    return dest


def helm(helm_bin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_bin, *args], capture_output=True, text=True, check=False)


def render(
    charts: Path, chart: str, values: Path | None = None, helm_bin: str = "HELM3",
    release: str = "chatbot", extra: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    args = ["template", release, str(charts / chart), "--namespace", "chatbot"]
    if values:
        args += ["-f", str(values)]
    result = helm(tools()[helm_bin], *args, *extra)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]


def env_names(objects: list[dict[str, Any]], name: str) -> set[str]:
    """Variables a workload gets: its env entries and the keys of ConfigMaps it imports."""
    maps = {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    deployment = next(o for o in workloads(objects) if o["metadata"]["name"] == name)
    names: set[str] = set()
    for c in pod_spec(deployment)["containers"]:
        names |= {e["name"] for e in c.get("env", [])}
        for source in c.get("envFrom", []):
            names |= set(maps[source["configMapRef"]["name"]])
    return names
