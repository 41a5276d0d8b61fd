"""Chaos smoke tests: the local multi-replica scenarios, the Kubernetes mode on kmock's
emulated API, and every Chaos Toolkit experiment validated and run against the emulated API.

The local scenarios need the chat service's Redis support (REDIS_URL: shared rooms, in-flight
answers in Redis, takeover of a dead replica's answer); they report what breaks until then.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stress_tests import _k8s_chaos, chaos_test
from stress_tests._replicas import Replicas, start_replicas
from tests.support.processes import REPO_ROOT
from tests.support.stack import Stack

EXPERIMENT = REPO_ROOT / "stress_tests" / "chaos" / "pod-kill.json"
TARGETS = ("chat", "llm", "history", "mongodb")


@pytest.fixture(scope="module")
def replicas() -> Iterator[Replicas]:
    with tempfile.TemporaryDirectory(prefix="chaos-smoke-") as tmp:
        rep = start_replicas(Path(tmp) / "state", 3, upstream_env={
            "FAKE_TTFT_MS": "50", "FAKE_TOKEN_MS": "30", "FAKE_TOKENS": "30"})
        try:
            yield rep
        finally:
            rep.stop()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", ["sigkill", "sigterm", "redis"])
def test_local_chaos_nothing_acked_is_lost(replicas: Replicas, kind: str) -> None:
    result = asyncio.run(chaos_test.run_scenario(replicas, kind, 10, 60))
    assert result["lost_acked_user_messages"] == 0
    assert result["duplicated_messages"] == 0
    assert result["reconnects_over_5s"] == 0
    assert result["passed"], json.dumps(result, indent=1)


@pytest.mark.timeout(480)
def test_k8s_mode_on_emulated_api(replicas: Replicas) -> None:
    args = argparse.Namespace(conversations=6, timeout=60, namespace="default",
                              release="chatbot", targets="chat,llm,history,mongodb")
    data = _k8s_chaos.run_emulated(replicas, args)
    assert len(data["kubelet_events"]) == 4  # every deleted pod was replaced
    for result in data["scenarios"]:
        assert result["ready_again_seconds"] < 60, result
        assert result["passed"], json.dumps(result, indent=1)


def _chaos(argv: list[str], cwd: Path, env: dict[str, str] | None = None
           ) -> subprocess.Popen[str]:
    """`chaos` as the README runs it: the environment's script, no PYTHONPATH, any directory."""
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("chaos")), "--no-version-check", *argv], cwd=cwd,
        env={**base, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_experiment_validates(tmp_path: Path) -> None:
    assert sorted(p.name for p in EXPERIMENT.parent.glob("*.json")) == ["pod-kill.json"]
    proc = _chaos(["validate", str(EXPERIMENT)], tmp_path)
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0 and "looks valid" in out, out[-1500:]
    config = json.loads(EXPERIMENT.read_text())["configuration"]
    assert config["namespace"]["default"] == "chatbot"
    assert config["target"] == {"type": "env", "key": "CHATBOT_TARGET", "default": "chat"}


@pytest.mark.timeout(300)
def test_experiments_run_against_emulated_api(stack: Stack, tmp_path: Path) -> None:
    emu = _k8s_chaos.EmulatedCluster(None, "chatbot", "chatbot")  # the default namespace
    with emu.running():
        env = {"KUBERNETES_HOST": emu.url, "CHATBOT_BASE_URL": stack.ui.url,
               "CHATBOT_READY_TIMEOUT": "30", "KUBECONFIG": str(tmp_path / "none")}
        running = []
        for target in TARGETS:
            journal = tmp_path / f"{target}.journal.json"
            running.append((target, journal, _chaos(
                ["run", "--journal-path", str(journal), str(EXPERIMENT)], tmp_path,
                {**env, "CHATBOT_TARGET": target})))
        for target, journal, proc in running:
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, (target, out[-2000:])
            run = json.loads(journal.read_text())
            assert run["status"] == "completed", (target, run["status"], out[-2000:])
            (killed,) = [r["output"] for r in run["run"] if r["activity"]["type"] == "action"]
            assert killed, target  # a pod of the target was really deleted
        assert len(emu.events) == 4  # each run deleted one pod, which came back
