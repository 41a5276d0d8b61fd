"""Issue 19: the release as users get it, from OCI registries, on the live cluster.

tests/cluster/test-cluster.sh (step "release from OCI") has built the four images and pushed
them to a registry it started on loopback (scripts/release/build-images.sh), pushed the charts
to it (scripts/release/push-charts.sh) and run `helm install oci://.../chatbot` with
global.imageRegistry pointing at that registry, in a namespace of its own. Here: every pod of
ours runs an image pulled from that registry at the release's version; a conversation works;
`helm upgrade` keeps the Secrets (made once by the chart's Job) and MongoDB's data, and a
MongoDB pod restarted after the upgrade still accepts the application user's credentials.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from kubernetes import client

from tests.cluster.live._live import (
    Live,
    connect,
    core_api,
    create_conversation,
    delete_pod,
    guest_token,
    history,
    new_id,
    ready_pods,
    wait_replaced,
)

SERVICES = ("ui-service", "chat-service", "llm-service", "history-service")


def secrets(core: client.CoreV1Api, live: Live) -> dict[str, Any]:
    names = [f"{live.release}-{s}" for s in ("chatbot", "mongodb", "redis")]
    return {n: core.read_namespaced_secret(n, live.namespace).data for n in names}


async def test_released_chart_runs_released_images_and_upgrades_keep_mongodb() -> None:
    live = Live()
    registry, version = os.environ["CHATBOT_IMAGE_REGISTRY"], os.environ["CHATBOT_VERSION"]
    core = core_api(live)
    pods = await asyncio.to_thread(
        core.list_namespaced_pod, live.namespace,
        label_selector=f"app.kubernetes.io/instance={live.release}")
    items: list[Any] = pods.items
    images = {c.image for p in items for c in p.spec.containers}
    for service in SERVICES:
        assert f"{registry}/chatbot/{service}:{version}" in images, images
    pulled = {s.image_id for p in items for s in p.status.container_statuses or []}
    assert any(i.startswith(f"{registry}/chatbot/") for i in pulled), pulled  # from the registry
    before = await asyncio.to_thread(secrets, core, live)
    assert set(before[f"{live.release}-mongodb"]) >= {"appUsername", "appPassword", "uri"}

    token = await guest_token(live)
    c, _ = await connect(live, token, timeout=120)
    try:
        cid = await create_conversation(c, "before the upgrade")
        await c.ok("message.send", {"conversation_id": cid, "client_message_id": new_id(),
                                    "content": "kept across the upgrade [tokens:5]"})
        await c.wait_done(cid, timeout=120)
        first = [(m["role"], m["status"], m["content"]) for m in await history(c, cid)]
    finally:
        await c.close()
    assert [r for r, _, _ in first] == ["user", "assistant"]

    helm = await asyncio.create_subprocess_exec(
        live.helm, "upgrade", live.release, live.chart, "--version", version, "--plain-http",
        "-n", live.namespace, "--kubeconfig", live.kubeconfig, "--reuse-values",
        "--set", "chat-service.logLevel=WARNING", "--wait", "--timeout", "5m")
    assert await helm.wait() == 0, "helm upgrade failed"
    assert await asyncio.to_thread(secrets, core, live) == before  # the Job changed nothing

    # MongoDB restarted after the upgrade: same volume, same credentials, same conversation.
    (mongodb,) = await asyncio.to_thread(ready_pods, core, live, "mongodb")
    start = time.monotonic()
    await asyncio.to_thread(delete_pod, core, live, mongodb.metadata.name)
    took = await wait_replaced(core, live, "mongodb", {mongodb.metadata.uid}, 1, start)
    print(f"\nMongoDB pod replaced and Ready in {took:.1f} s after the upgrade")
    c, _ = await connect(live, token, timeout=120)
    try:
        deadline = time.monotonic() + 120
        while True:  # the history service reconnects to the restarted MongoDB
            ack = await c.call("conversation.get", {"conversation_id": cid})
            if ack.get("ok"):
                break
            assert ack["error"]["code"] == "unavailable", ack
            assert time.monotonic() < deadline, "history unavailable 120 s after the restart"
            await asyncio.sleep(1)
        after = [(m["role"], m["status"], m["content"]) for m in ack["messages"]]
    finally:
        await c.close()
    assert after == first
