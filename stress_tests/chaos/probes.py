"""Chaos Toolkit probes of our own (``"type": "python", "module": "stress_tests.chaos.probes"``).

`make setup` puts the repository root on the environment's path, so ``uv run chaos run``
imports this module from any shell and directory.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import urljoin

import httpx2 as httpx

from stress_tests._sio import RawSio


async def _conversation(base_url: str, timeout: float) -> bool:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        cfg = (await http.get("/config.json")).raise_for_status().json()
        token = (await http.post("/auth/guest")).raise_for_status().json()["token"]
    chat_url = urljoin(base_url.rstrip("/") + "/", cfg.get("chat_url") or base_url)
    sio = await RawSio(chat_url, token, cfg.get("socket_path", "/socket.io")).connect()
    try:
        conv = (await sio.ok("conversation.create", {"title": "chaos probe"}))["conversation"]
        cid = conv["id"]
        sent = await sio.ok("message.send", {"conversation_id": cid, "content": "ping",
                                             "client_message_id": uuid.uuid4().hex})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = await sio.ok("conversation.get", {"conversation_id": cid})
            msgs = got["messages"]
            answers = [m for m in msgs if m["role"] == "assistant"]
            if answers and answers[-1]["status"] != "streaming":
                stored = any(m["id"] == sent["message"]["id"] for m in msgs)
                return stored and answers[-1]["status"] == "complete"
            await asyncio.sleep(0.5)
        return False
    finally:
        await sio.close()


def conversation_completes(base_url: str, timeout: float = 60) -> bool:
    """A guest creates a conversation, sends a message and gets a complete, stored answer.

    While a killed pod comes back the system may answer ``unavailable`` for a while: the probe
    tries again (bounded by ``timeout``) and holds once one whole conversation succeeds.
    """
    deadline = time.monotonic() + float(timeout)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            if asyncio.run(_conversation(base_url, remaining)):
                return True
        except Exception:
            pass
        time.sleep(1.0)


def pods_ready(label_selector: str, ns: str = "default", timeout: float = 120,
               secrets: dict[str, Any] | None = None) -> bool:
    """Wait until every pod matching the selector (at least one) is Ready and not deleting."""
    from chaosk8s import create_k8s_api_client
    from kubernetes import client

    api = client.CoreV1Api(create_k8s_api_client(secrets))
    deadline = time.monotonic() + float(timeout)
    wanted = dict(kv.split("=", 1) for kv in label_selector.split(",") if "=" in kv)
    while time.monotonic() < deadline:
        pods = api.list_namespaced_pod(ns, label_selector=label_selector).items
        pods = [p for p in pods
                if all((p.metadata.labels or {}).get(k) == v for k, v in wanted.items())]
        if pods and all(_ready(p) for p in pods):
            return True
        time.sleep(0.5)
    return False


def _ready(pod: Any) -> bool:
    if pod.metadata.deletion_timestamp is not None:
        return False
    conditions = (pod.status and pod.status.conditions) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)
