"""Helpers of the live-cluster tests (tests/cluster/test-cluster.sh runs them explicitly).

Everything goes through the ingress (``CHATBOT_INGRESS_URL`` with ``Host: CHATBOT_HOST``);
pods are found and deleted through the ``kubernetes`` client with ``CHATBOT_KUBECONFIG``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx2 as httpx
from kubernetes import client, config
from pydantic_settings import BaseSettings, SettingsConfigDict

from tests.support.chat_client import ChatClient


class Live(BaseSettings):
    """The cluster under test (set by test-cluster.sh)."""

    model_config = SettingsConfigDict(env_prefix="CHATBOT_")

    kubeconfig: str
    ingress_url: str
    host: str
    namespace: str = "chatbot"
    release: str = "chatbot"
    helm: str = "helm"
    chart: str = ""
    values: str = ""

    @property
    def origin(self) -> str:
        return f"http://{self.host}"

    def selector(self, name: str) -> str:
        return f"app.kubernetes.io/name={name},app.kubernetes.io/instance={self.release}"


class IngressChatClient(ChatClient):
    """ChatClient through the ingress: the ingress host in ``Host``, its origin in ``Origin``."""

    def __init__(self, live: Live, token: str) -> None:
        super().__init__(live.ingress_url, token, origin=live.origin)
        self.host = live.host

    async def connect(self) -> IngressChatClient:
        await self.sio.connect(
            self.url,
            auth={"token": self.token},
            transports=self.transports,
            headers={"Origin": self.origin or "", "Host": self.host},
            socketio_path=self.socketio_path,
            wait_timeout=10,
        )
        return self


async def guest_token(live: Live) -> str:
    """A guest token from the UI, through the ingress."""
    async with httpx.AsyncClient(base_url=live.ingress_url, timeout=10) as http:
        r = await http.post("/auth/guest", headers={"Host": live.host})
        r.raise_for_status()
        token = r.json()["token"]
    assert isinstance(token, str) and token
    return token


async def connect(live: Live, token: str, timeout: float = 60) -> tuple[IngressChatClient, float]:
    """Connect (retrying while the ingress or the replicas are not there); the seconds it took."""
    start = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - start < timeout:
        c = IngressChatClient(live, token)
        try:
            await c.connect()
            return c, time.monotonic() - start
        except Exception as exc:
            last = exc
            await c.close()
            await asyncio.sleep(0.2)
    raise AssertionError(f"no connection through the ingress in {timeout} s: {last!r}")


def new_id() -> str:
    return uuid.uuid4().hex


async def history(c: ChatClient, cid: str) -> list[dict[str, Any]]:
    got = await c.ok("conversation.get", {"conversation_id": cid, "limit": 200})
    messages: list[dict[str, Any]] = got["messages"]
    return messages


def core_api(live: Live) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=live.kubeconfig))


def is_ready(pod: Any) -> bool:
    if pod.metadata.deletion_timestamp is not None or pod.status is None:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def ready_pods(core: client.CoreV1Api, live: Live, name: str) -> list[Any]:
    pods = core.list_namespaced_pod(live.namespace, label_selector=live.selector(name)).items
    return [p for p in pods if is_ready(p)]


def delete_pod(core: client.CoreV1Api, live: Live, pod: str, gone_ok: bool = False) -> None:
    """Delete with grace 0 (the container is killed); ``gone_ok``: a pod already gone is fine."""
    try:
        core.delete_namespaced_pod(pod, live.namespace, grace_period_seconds=0)
    except client.ApiException as exc:
        if not (gone_ok and exc.status == 404):
            raise


def scale(live: Live, replicas: dict[str, int]) -> None:
    """Set the replicas of the release's workloads by name (a Deployment or a StatefulSet)."""
    apps = client.AppsV1Api(config.new_client_from_config(config_file=live.kubeconfig))
    ns = live.namespace
    for name, count in replicas.items():
        body = {"spec": {"replicas": count}}
        sel = live.selector(name)
        deployments = [d.metadata.name for d in apps.list_namespaced_deployment(
            ns, label_selector=sel).items if d.metadata]
        sets = [s.metadata.name for s in apps.list_namespaced_stateful_set(
            ns, label_selector=sel).items if s.metadata]
        for dep in deployments:
            apps.patch_namespaced_deployment_scale(str(dep), ns, body)
        for sts in sets:
            apps.patch_namespaced_stateful_set_scale(str(sts), ns, body)
        found = bool(deployments or sets)
        assert found, f"no Deployment or StatefulSet of {name}"


async def wait_gone(core: client.CoreV1Api, live: Live, name: str, start: float,
                    timeout: float = 120) -> None:
    """Wait until no pod of ``name`` exists (scaled to 0 and its pods gone)."""
    while time.monotonic() - start < timeout:
        pods = await asyncio.to_thread(
            core.list_namespaced_pod, live.namespace, label_selector=live.selector(name))
        if not pods.items:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name}: pods still there {timeout} s after scaling to 0")


async def wait_unreachable(ip: str, port: int, start: float, timeout: float = 120) -> None:
    """Wait until nothing accepts connections at a pod's address. A grace-0 delete removes the
    pod object at once, while its container may still run (and serve) for a moment."""
    while time.monotonic() - start < timeout:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 1)
        except (OSError, TimeoutError):
            return
        writer.close()
        await asyncio.sleep(0.2)
    raise AssertionError(f"{ip}:{port} still accepts connections after {timeout} s")


async def wait_replaced(
    core: client.CoreV1Api,
    live: Live,
    name: str,
    gone: set[str],
    count: int,
    start: float,
    timeout: float = 120,
) -> float:
    """Seconds from ``start`` until ``count`` pods of ``name`` are Ready, none of ``gone``
    (pod UIDs: a StatefulSet's replacement has the same name)."""
    while time.monotonic() - start < timeout:
        pods = await asyncio.to_thread(ready_pods, core, live, name)
        uids = {p.metadata.uid for p in pods}
        if len(uids) >= count and not uids & gone:
            return time.monotonic() - start
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name}: no {count} Ready pods without {gone} after {timeout} s")


async def metric(pod_ip: str, port: int, name: str) -> float:
    """One unlabelled sample of a pod's /metrics (straight to the pod IP from the node)."""
    async with httpx.AsyncClient(timeout=5) as http:
        r = await http.get(f"http://{pod_ip}:{port}/metrics")
        r.raise_for_status()
    for line in r.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the metrics of {pod_ip}:{port}")


def container_port(pod: Any) -> int:
    port: int = pod.spec.containers[0].ports[0].container_port
    return port


async def answer_done(c: ChatClient, cid: str, mid: str, timeout: float) -> list[dict[str, Any]]:
    """Wait for message.done of ``mid``; every message.done this client got for it."""

    def dones() -> list[dict[str, Any]]:
        return [d["message"] for d in c.events["message.done"] if d["message"]["id"] == mid]

    await c.wait_for(lambda: bool(dones()), timeout)
    await asyncio.sleep(1)  # a second message.done would come right after the first
    return dones()


def assembled(prefix: str, next_index: int, deltas: list[dict[str, Any]]) -> str:
    """The text a reconnected client assembles: the content so far plus later deltas."""
    seen: dict[int, str] = {}
    for d in deltas:
        if d["index"] >= next_index:
            first = seen.setdefault(d["index"], d["delta"])
            assert first == d["delta"], f"index {d['index']} with two texts"
    indexes = sorted(seen)
    assert indexes == list(range(next_index, next_index + len(indexes))), f"gaps: {indexes}"
    return prefix + "".join(seen[i] for i in indexes)


async def create_conversation(c: ChatClient, title: str, timeout: float = 120) -> str:
    """conversation.create, retried while the store is still coming back (``unavailable``):
    each test starts from a steady state, whatever the step before it deleted."""
    start = time.monotonic()
    while True:
        ack = await c.call("conversation.create", {"title": title})
        if ack.get("ok"):
            return str(ack["conversation"]["id"])
        assert ack["error"]["code"] == "unavailable", ack
        assert time.monotonic() - start < timeout, f"store still unavailable after {timeout} s"
        await asyncio.sleep(1)
