"""The charts' pods: security policies, probes, drain, scaling, MongoDB members, images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.charts_support import APP_CHARTS, helm, pod_spec, render, tools, workloads


def test_workload_policies(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for where, objects in rendered.items():
        pods = [*workloads(objects), *(o for o in objects if o["kind"] == "Pod")]
        assert pods, where
        for obj in pods:
            name = f"{where}/{obj['kind']}/{obj['metadata']['name']}"
            labels = obj["metadata"]["labels"]
            assert {"app.kubernetes.io/name", "app.kubernetes.io/instance",
                    "app.kubernetes.io/managed-by"} <= set(labels), name
            spec = pod_spec(obj)
            assert spec["securityContext"]["runAsNonRoot"] is True, name
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
            assert spec["automountServiceAccountToken"] is False, name
            for c in spec["containers"]:
                sc = c["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True, name
                assert sc["allowPrivilegeEscalation"] is False, name
                assert sc["capabilities"]["drop"] == ["ALL"], name
                image = c["image"]
                assert ":" in image.rsplit("/", 1)[-1], f"{name}: untagged {image}"
                assert not image.endswith(":latest"), name
                assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], name
                if obj["kind"] != "Pod":
                    assert c["livenessProbe"] and c["readinessProbe"], name
            if obj["kind"] != "Pod":
                assert obj["spec"]["selector"]["matchLabels"] == {
                    "app.kubernetes.io/name": labels["app.kubernetes.io/name"],
                    "app.kubernetes.io/instance": labels["app.kubernetes.io/instance"],
                }, name
                annotations = obj["spec"]["template"]["metadata"]["annotations"]
                assert "checksum/config" in annotations, name


def test_service_probes_hit_healthz_and_readyz(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for objects in rendered.values():
        for obj in workloads(objects):
            if obj["metadata"]["labels"]["app.kubernetes.io/part-of"] != "chatbot":
                continue
            c = pod_spec(obj)["containers"][0]
            if obj["kind"] == "Deployment" and "redis" not in obj["metadata"]["name"]:
                assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
                assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
                mounts = {m["mountPath"] for m in c["volumeMounts"]}
                assert {"/tmp", "/var/lib/chatbot"} <= mounts


def test_chat_drains_within_its_grace_period(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for where in ("chat-service:default", "chatbot:default", "chatbot:production-values"):
        objects = rendered[where]
        chat = next(o for o in workloads(objects) if "chat" in o["metadata"]["name"])
        spec = pod_spec(chat)
        c = spec["containers"][0]
        sleep = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
        config = next(o for o in objects if o["kind"] == "ConfigMap"
                      and o["metadata"]["name"] == chat["metadata"]["name"])["data"]
        grace = float(config["SHUTDOWN_GRACE_SECONDS"])
        assert spec["terminationGracePeriodSeconds"] >= sleep + grace + 1
        service = next(o for o in objects if o["kind"] == "Service"
                       and o["metadata"]["name"] == chat["metadata"]["name"])
        assert service["spec"]["sessionAffinity"] == "ClientIP"


def test_chat_scales_with_hpa_and_pdb_only_with_redis(
    charts: Path, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    kinds = {(o["kind"], o["metadata"]["name"]) for o in rendered["chatbot:default"]}
    assert ("HorizontalPodAutoscaler", "chatbot-chat") in kinds
    assert ("PodDisruptionBudget", "chatbot-chat") in kinds
    result = helm(tools()["HELM3"], "template", "r", str(charts / "chat-service"),
                  "--set", "autoscaling.enabled=true")
    assert result.returncode != 0 and "Redis" in result.stderr


def test_mongodb_replica_set_in_production_only(rendered: dict[str, list[dict[str, Any]]]) -> None:
    def sts(where: str) -> dict[str, Any]:
        return next(o for o in rendered[where] if o["kind"] == "StatefulSet")

    assert sts("chatbot:production-values")["spec"]["replicas"] == 3
    assert sts("chatbot:dev-values")["spec"]["replicas"] == 1
    env = {e["name"]: e for e in pod_spec(sts("chatbot:production-values"))["containers"][0]["env"]}
    assert env["REPLICA_SET"]["value"] == "rs0"
    assert env["MEMBERS"]["value"].count(".svc:27017") == 3

    def uri_format(where: str) -> str:
        job = next(o for o in rendered[where] if o["kind"] == "Job")
        env = {e["name"]: e.get("value") for e in pod_spec(job)["containers"][0]["env"]}
        mongo = next(s for s in json.loads(env["SECRETS"]) if s["name"] == "chatbot-mongodb")
        return str(next(k["format"] for k in mongo["keys"] if k["key"] == "uri"))

    # A replica set: the driver gets every member; one member: the Service's stable address.
    members = ",".join(f"chatbot-mongodb-{i}.chatbot-mongodb-headless.chatbot.svc:27017"
                       for i in range(3))
    assert uri_format("chatbot:production-values") == (
        f"mongodb://{{appUsername}}:{{appPassword}}@{members}/chatbot"
        "?authSource=admin&replicaSet=rs0")
    assert uri_format("chatbot:default") == (
        "mongodb://{appUsername}:{appPassword}@chatbot-mongodb.chatbot.svc:27017/chatbot"
        "?authSource=admin")


def test_latest_tag_is_refused(charts: Path) -> None:
    for chart in APP_CHARTS:
        result = helm(
            tools()["HELM3"], "template", "r", str(charts / chart), "--set", "image.tag=latest"
        )
        assert result.returncode != 0, chart
        assert "at '/image/tag'" in result.stderr, (chart, result.stderr)  # refused for the tag


def test_images_come_from_the_release_registry(charts: Path) -> None:
    def images(*extra: str) -> set[str]:
        return {c["image"] for o in render(charts, "chatbot", extra=extra)
                if o["kind"] in ("Deployment", "StatefulSet")
                for c in pod_spec(o)["containers"]}

    default = images()
    assert "ghcr.io/chatbot-platform/chatbot/ui-service:0.1.0" in default
    assert "docker.io/library/mongo:8.0.17" in default
    assert "docker.io/library/redis:8.2.3" in default
    digest = "sha256:" + "ab" * 32
    moved = images("--set", "global.imageRegistry=127.0.0.1:5000",
                   "--set", f"chat-service.image.digest={digest}")
    assert "127.0.0.1:5000/chatbot/ui-service:0.1.0" in moved
    assert f"127.0.0.1:5000/chatbot/chat-service:0.1.0@{digest}" in moved
    assert "docker.io/library/mongo:8.0.17" in moved  # MongoDB keeps its own registry
    bad = helm(tools()["HELM3"], "template", "r", str(charts / "chatbot"),
               "--set", "chat-service.image.digest=sha256:nothex")
    assert bad.returncode != 0
