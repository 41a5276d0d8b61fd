"""Kubernetes mode of the chaos test: delete pods through the API, wait for Ready, check.

Against a real cluster (--kubeconfig, traffic through --base-url) the cluster's controllers
bring pods back. Without a kubeconfig, the API is kmock's KubernetesEmulator on loopback and a
small "kubelet" of ours plays the controllers: every pod object is bound to a local process of
the multi-replica system (3 chat replicas, LLM, history); when a pod is deleted through the API
it SIGKILLs that process, creates the replacement pod (not Ready), restarts the process on the
same port and marks the new pod Ready once it is healthy. MongoDB members have no local process
(the local history store is SQLite): deleting one only exercises the API path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import random
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes import config as kube_config

from stress_tests._conversation import ChaosConversation
from stress_tests._harness import guest_token, summary
from stress_tests._replicas import Replicas, start_replicas
from stress_tests.chaos.probes import conversation_completes
from stress_tests.chaos_test import one_turn, verify

# app.kubernetes.io/name of each workload as the umbrella chart labels it (its nameOverride).
NAMES = {"chat": "chat", "llm": "llm", "history": "history", "mongodb": "mongodb"}


def selector(target: str, release: str) -> str:
    return f"app.kubernetes.io/name={NAMES[target]},app.kubernetes.io/instance={release}"


def _ready(pod: Any) -> bool:
    conds = (pod.status and pod.status.conditions) or []
    return pod.metadata.deletion_timestamp is None and any(
        c.type == "Ready" and c.status == "True" for c in conds)


def _matching(api: client.CoreV1Api, ns: str, sel: str) -> list[Any]:
    # the emulator ignores labelSelector: filter here too (a no-op against a real API server)
    want = dict(kv.split("=", 1) for kv in sel.split(","))
    return [p for p in api.list_namespaced_pod(ns, label_selector=sel).items
            if all((p.metadata.labels or {}).get(k) == v for k, v in want.items())]


def delete_and_wait(api: client.CoreV1Api, ns: str, sel: str, timeout: float) -> dict[str, Any]:
    """Delete one random matching pod (grace 0); wait until as many pods are Ready again."""
    pods = _matching(api, ns, sel)
    if not pods:
        return {"deleted": None, "error": f"no pod matches {sel}"}
    ready_before = sum(_ready(p) for p in pods)
    victim = random.choice(pods)
    t0 = time.monotonic()
    api.delete_namespaced_pod(victim.metadata.name, ns, grace_period_seconds=0)
    while time.monotonic() - t0 < timeout:
        now = _matching(api, ns, sel)
        fresh = [p for p in now if p.metadata.uid != victim.metadata.uid and _ready(p)]
        if len(fresh) >= ready_before:
            return {"deleted": victim.metadata.name, "ready_again_seconds":
                    round(time.monotonic() - t0, 2)}
        time.sleep(0.1)
    return {"deleted": victim.metadata.name, "error": f"not Ready again within {timeout} s"}


class EmulatedCluster:
    """kmock's API on loopback + a kubelet binding pod objects to local processes."""

    def __init__(self, rep: Replicas | None, ns: str, release: str) -> None:
        self.rep, self.ns, self.release = rep, ns, release
        self.url = ""
        self._stop = threading.Event()
        self._started = threading.Event()
        self.bindings: dict[str, Callable[[], None] | None] = {}
        self.events: list[str] = []

    def _serve(self) -> None:
        import kmock

        class Emulator(kmock.KubernetesEmulator):  # type: ignore[misc]
            """kmock's emulator, plus equality-based labelSelector filtering on lists."""

            async def _serve_list(self, request: Any) -> Any:
                payload = await super()._serve_list(request)
                sel = (request.params or {}).get("labelSelector") or ""
                want = dict(kv.split("=", 1) for kv in sel.split(",") if "=" in kv)
                payload["items"] = [
                    o for o in payload["items"]
                    if all(((o.get("metadata") or {}).get("labels") or {}).get(k) == v
                           for k, v in want.items())]
                return payload

        async def main() -> None:
            async with Emulator() as emu, kmock.Server(emu) as srv:
                self.url = str(srv.url).rstrip("/")
                self._started.set()
                while not self._stop.is_set():  # noqa: ASYNC110 - a thread's flag, not a task's
                    await asyncio.sleep(0.1)

        asyncio.run(main())

    def api(self) -> client.CoreV1Api:
        cfg = client.Configuration()
        cfg.host = self.url
        return client.CoreV1Api(client.ApiClient(cfg))

    def _pod(self, target: str, name: str, ready: bool) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": self.ns, "uid": uuid.uuid4().hex,
                             "labels": {"app.kubernetes.io/name": NAMES[target],
                                        "app.kubernetes.io/instance": self.release}},
                "spec": {"containers": [{"name": target, "image": f"chatbot/{target}"}]},
                "status": {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True" if ready else "False"}]}}

    def _restart_fn(self, target: str, slot: int) -> Callable[[], None] | None:
        rep = self.rep

        def restart() -> None:
            assert rep is not None
            if target == "chat":  # a grace-0 delete: the container is killed
                rep.restart_chat(slot, signal.SIGKILL)
            else:
                rep.restart_service(target)

        return restart if rep is not None and target in ("chat", "llm", "history") else None

    @contextlib.contextmanager
    def running(self) -> Iterator[EmulatedCluster]:
        server = threading.Thread(target=self._serve, daemon=True)
        server.start()
        if not self._started.wait(30):
            raise RuntimeError("kmock did not start")
        api = self.api()
        chats = len(self.rep.chats) if self.rep else 3
        for target, count in (("chat", chats), ("llm", 1), ("history", 1), ("mongodb", 3)):
            for slot in range(count):
                name = f"{self.release}-{target}-{slot}"
                api.create_namespaced_pod(self.ns, self._pod(target, name, True))
                self.bindings[name] = self._restart_fn(target, slot)
        kubelet = threading.Thread(target=self._kubelet, daemon=True)
        kubelet.start()
        try:
            yield self
        finally:
            self._stop.set()
            kubelet.join(30)
            server.join(10)

    def _kubelet(self) -> None:
        api = self.api()
        while not self._stop.is_set():
            present = {p.metadata.name for p in api.list_namespaced_pod(self.ns).items}
            for name in [n for n in self.bindings if n not in present]:
                restart = self.bindings.pop(name)
                target = name.split("-")[-2]
                slot = name.split("-")[-1]
                new = f"{self.release}-{target}-{slot}-{uuid.uuid4().hex[:5]}"
                api.create_namespaced_pod(self.ns, self._pod(target, new, False))
                if restart is not None:
                    restart()  # SIGKILL the bound process, start it again, wait for /healthz
                api.patch_namespaced_pod_status(new, self.ns, {"status": {"conditions": [
                    {"type": "Ready", "status": "True"}]}})
                # a replacement keeps its slot: later deletions restart the same process
                self.bindings[new] = restart
                self.events.append(f"{name} -> {new}")
            self._stop.wait(0.1)


async def k8s_scenario(api: client.CoreV1Api, args: argparse.Namespace, target: str,
                       make_conv: Callable[[int], ChaosConversation], verify_url: str,
                       steady: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Turn 1 with a pod deleted mid-stream; then, like the Chaos Toolkit experiments, wait
    for the steady state (``steady``: a whole conversation completes through the system) before
    turn 2 is judged. Bounds: ``--ready-timeout`` and ``--steady-timeout``."""
    convs = [make_conv(i) for i in range(args.conversations)]
    await asyncio.gather(*(c.start() for c in convs))
    loop = asyncio.get_running_loop()
    ready_timeout = float(getattr(args, "ready_timeout", 300.0))

    async def fault() -> dict[str, Any]:
        return await loop.run_in_executor(None, delete_and_wait, api, args.namespace,
                                          selector(target, args.release), ready_timeout)

    t0 = time.monotonic()
    info = await one_turn(convs, f"{target} turn 1", fault, args.timeout)
    turn1_cut = sum(1 for c in convs if not c.done or c.done["status"] != "complete")
    if steady is not None and "error" not in info:
        started = time.monotonic()
        if await loop.run_in_executor(None, steady):
            info["steady_again_seconds"] = round(time.monotonic() - started, 2)
        else:
            info["error"] = "the steady state (a conversation completes) did not come back"
    await one_turn(convs, f"{target} turn 2", None, args.timeout)
    turn2_ok = sum(1 for c in convs if c.done and c.done["status"] == "complete")
    checks = await verify(verify_url, convs, 2)
    reconnects = [r for c in convs for r in c.reconnects]
    await asyncio.gather(*(c.close() for c in convs), return_exceptions=True)
    result = {"scenario": f"delete {target} pod", "conversations": len(convs),
              "seconds": round(time.monotonic() - t0, 2), **info, **checks,
              "turn1_answers_cut": turn1_cut, "turn2_complete": turn2_ok,
              "clients_reconnected": sum(1 for c in convs if c.reconnects),
              "reconnect_seconds": summary(reconnects),
              "client_errors": sum(1 for c in convs if c.errors)}
    # steady state: nothing acked lost or doubled, the pod is back, conversations continue,
    # and every client's text of its last answer is the stored one
    result["passed"] = (checks["lost_acked_user_messages"] == 0
                        and checks["duplicated_messages"] == 0 and "error" not in info
                        and turn2_ok == len(convs) and checks["text_mismatches"] == 0)
    return result


def _real_conv_factory(base_url: str) -> tuple[Callable[[int], ChaosConversation], str]:
    import httpx2 as httpx

    cfg = httpx.get(base_url + "/config.json", timeout=10).json()
    chat_url = cfg.get("chat_url") or base_url

    def make(i: int) -> ChaosConversation:
        token = httpx.post(base_url + "/auth/guest", timeout=10).json()["token"]
        return ChaosConversation(token, lambda attempt: chat_url)

    return make, chat_url


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.kubeconfig:
        if not args.base_url:
            raise SystemExit("--kubeconfig needs --base-url (the UI or ingress URL)")
        kube_config.load_kube_config(args.kubeconfig)
        api = client.CoreV1Api()
        base_url = args.base_url.rstrip("/")
        make, chat_url = _real_conv_factory(base_url)
        steady = functools.partial(
            conversation_completes, base_url, float(getattr(args, "steady_timeout", 300.0)))
        results = [asyncio.run(k8s_scenario(api, args, t, make, chat_url, steady))
                   for t in args.targets.split(",")]
        return {"mode": "k8s", "api": "cluster", "scenarios": results,
                "passed": all(r["passed"] for r in results)}
    upstream = {"FAKE_TTFT_MS": "100", "FAKE_TOKEN_MS": str(args.token_ms),
                "FAKE_TOKENS": str(args.tokens)}
    with tempfile.TemporaryDirectory(prefix="chaos-k8s-") as tmp:
        rep = start_replicas(Path(tmp) / "state", 3, upstream_env=upstream)
        try:
            return run_emulated(rep, args)
        finally:
            rep.stop()


def run_emulated(rep: Replicas, args: argparse.Namespace) -> dict[str, Any]:
    """Every target against kmock's API whose pods are bound to ``rep``'s processes."""
    emu = EmulatedCluster(rep, args.namespace, args.release)
    with emu.running():
        urls = [c.url for c in rep.chats]

        def make(i: int) -> ChaosConversation:
            return ChaosConversation(guest_token(rep.auth_secret),
                                     lambda attempt: urls[(i + attempt) % len(urls)])

        results = [asyncio.run(k8s_scenario(emu.api(), args, t, make, urls[-1]))
                   for t in args.targets.split(",")]
        events = list(emu.events)
    return {"mode": "k8s", "api": "emulated (kmock)", "kubelet_events": events,
            "scenarios": results, "passed": all(r["passed"] for r in results)}
