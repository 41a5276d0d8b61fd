"""The charts' secrets: none in values files, made by a pre-install Job, the same every
render; history's MongoDB user is not root."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

from tests.charts_support import APP_CHARTS, CHARTS, CI_VALUES, REPO, pod_spec, render, workloads


def test_no_secret_values_in_values_files(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """Only the development values hold (obviously fake) secrets; no other values file does."""
    files = [*CHARTS.glob("*/values.yaml"), *(v for v in CI_VALUES if v.stem != "dev-values")]
    secret_keys = {"AUTH_SECRET", "INTERNAL_TOKEN", "CHAT_INTERNAL_TOKEN", "UI_INTERNAL_TOKEN",
                   "LLM_API_KEY", "password", "appPassword", "keyfile", "apiKey"}

    def keys(node: Any) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for v in node.values() for k in keys(v)}
        if isinstance(node, list):
            return {k for v in node for k in keys(v)}
        return set()

    for path in files:
        assert not keys(yaml.safe_load(path.read_text())) & secret_keys, path
    dev = yaml.safe_load((REPO / "ci/dev-values.yaml").read_text())["secrets"]["values"]
    for secret in dev.values():
        for key, value in secret.items():
            assert value.lower().startswith("dev"), key
    # Without fixed values no Secret of ours is rendered at all: the Job makes them.
    for where, objects in rendered.items():
        if where != "chatbot:dev-values":
            assert not [o for o in objects if o["kind"] == "Secret"], where


def test_helm_template_renders_the_same_secrets_every_time(charts: Path) -> None:
    """Issue 19: no lookup + random at render time; the dev values give fixed Secrets."""
    def secrets(values: Path | None) -> list[dict[str, Any]]:
        return [o for o in render(charts, "chatbot", values) if o["kind"] == "Secret"]

    dev = REPO / "ci/dev-values.yaml"
    first, second = secrets(dev), secrets(dev)
    assert first == second
    assert {s["metadata"]["name"] for s in first} == {
        "chatbot-chatbot", "chatbot-mongodb", "chatbot-redis"}
    data = {s["metadata"]["name"]: {k: base64.b64decode(v).decode()
                                    for k, v in s["data"].items()} for s in first}
    assert set(data["chatbot-chatbot"]) == {"AUTH_SECRET", "CHAT_INTERNAL_TOKEN",
                                            "UI_INTERNAL_TOKEN"}
    mongo = data["chatbot-mongodb"]
    # one member: through the Service (a stable address across pod restarts)
    assert mongo["uri"] == (f"mongodb://chatbot:{mongo['appPassword']}@chatbot-mongodb."
                            "chatbot.svc:27017/chatbot?authSource=admin")
    assert (mongo["username"], mongo["appUsername"]) == ("root", "chatbot")
    redis_pw = data["chatbot-redis"]["password"]
    assert data["chatbot-redis"]["url"] == f"redis://:{redis_pw}@chatbot-redis.chatbot.svc:6379/0"
    # Without fixed values: no Secret in the render, the same hook Job every time.
    assert secrets(None) == []
    assert render(charts, "chatbot") == render(charts, "chatbot")
    for chart in APP_CHARTS:  # the standalone charts too
        assert render(charts, chart) == render(charts, chart), chart


def test_secret_job_creates_only_missing_secrets(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["chatbot:default"]
    hooks = [o for o in objects if o["kind"] in ("Job", "ServiceAccount", "Role", "RoleBinding")
             and o["metadata"]["name"] == "chatbot-chatbot-secrets"]
    assert sorted(o["kind"] for o in hooks) == ["Job", "Role", "RoleBinding", "ServiceAccount"]
    for o in hooks:
        assert o["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    role = next(o for o in hooks if o["kind"] == "Role")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"],
         "resourceNames": ["chatbot-chatbot", "chatbot-mongodb", "chatbot-redis"],
         "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
    ]
    job = next(o for o in hooks if o["kind"] == "Job")
    spec = pod_spec(job)
    assert spec["containers"][0]["image"] == "ghcr.io/chatbot-platform/chatbot/ui-service:0.1.0"
    assert spec["securityContext"]["runAsNonRoot"] is True
    # The Job's pods are nobody's Service endpoints and no NetworkPolicy's target.
    names = {o["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
             for o in workloads(objects)}
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] not in names
    # The subcharts make no Job of their own in the umbrella (it names their Secrets).
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Job"] == [
        "chatbot-chatbot-secrets"]


def test_history_uses_a_readwrite_user_not_root(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["chatbot:default"]
    sts = next(o for o in objects if o["kind"] == "StatefulSet")
    env = {e["name"]: e for e in pod_spec(sts)["containers"][0]["env"]}
    assert env["MONGO_APP_USERNAME"]["valueFrom"]["secretKeyRef"]["key"] == "appUsername"
    assert env["MONGO_APP_DATABASE"]["value"] == "chatbot"
    script = next(o for o in objects if o["kind"] == "ConfigMap"
                  and o["metadata"]["name"] == "chatbot-mongodb")["data"]["start.sh"]
    assert 'role: "readWrite", db: process.env.MONGO_APP_DATABASE' in script
    job = next(o for o in objects if o["kind"] == "Job")
    spec = json.loads(next(e["value"] for e in pod_spec(job)["containers"][0]["env"]
                           if e["name"] == "SECRETS"))
    mongo = next(s for s in spec if s["name"] == "chatbot-mongodb")
    (uri,) = [k["format"] for k in mongo["keys"] if k["key"] == "uri"]
    assert uri.startswith("mongodb://{appUsername}:{appPassword}@")
