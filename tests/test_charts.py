"""Render, lint and validate every chart with both Helm majors; check the cluster policies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.charts_support import (
    ALL_CHARTS,
    APP_CHARTS,
    CHARTS,
    CI_VALUES,
    REPO,
    built_charts,
    env_names,
    helm,
    pod_spec,
    render,
    tools,
    workloads,
)

K8S_VERSION = "1.33.0"
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "HTTPRoute"}
# The contract's variables (and ours) each service chart must wire.
CONTRACT_ENV = {
    "ui": {"PORT", "AUTH_SECRET", "CHAT_PUBLIC_URL", "STATE_DIR", "INTERNAL_TOKEN",
           "LLM_SERVICE_URL"},
    "chat": {"PORT", "AUTH_SECRET", "LLM_SERVICE_URL", "HISTORY_SERVICE_URL", "REDIS_URL",
             "INTERNAL_TOKEN", "ALLOWED_ORIGINS", "STATE_DIR", "SHUTDOWN_GRACE_SECONDS"},
    "llm": {"PORT", "LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL", "INTERNAL_TOKEN", "STATE_DIR"},
    "history": {"PORT", "MONGODB_URI", "INTERNAL_TOKEN", "STATE_DIR"},
}


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_charts(tmp_path_factory.mktemp("helm"))


def renders(charts: Path) -> dict[str, list[dict[str, Any]]]:
    out = {f"{c}:default": render(charts, c) for c in ALL_CHARTS}
    out |= {f"chatbot:{v.stem}": render(charts, "chatbot", v) for v in CI_VALUES}
    return out


@pytest.fixture(scope="module")
def rendered(charts: Path) -> dict[str, list[dict[str, Any]]]:
    return renders(charts)


@pytest.mark.parametrize("helm_bin", ["HELM3", "HELM4"])
@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_lint_strict(charts: Path, chart: str, helm_bin: str) -> None:
    result = helm(tools()[helm_bin], "lint", "--strict", str(charts / chart))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_umbrella_lints_with_each_scenario(charts: Path, values: Path) -> None:
    for helm_bin in ("HELM3", "HELM4"):
        result = helm(
            tools()[helm_bin], "lint", "--strict", str(charts / "chatbot"), "-f", str(values)
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_helm4_renders_what_helm3_renders(charts: Path) -> None:
    for values in (None, *CI_VALUES):
        kinds = [
            sorted((o["kind"], o["metadata"]["name"]) for o in render(charts, "chatbot", values, h))
            for h in ("HELM3", "HELM4")
        ]
        assert kinds[0] == kinds[1]


def test_every_object_is_valid_kubernetes_1_33(rendered: dict[str, list[dict[str, Any]]]) -> None:
    checked = 0
    for objects in rendered.values():
        for obj in objects:
            if obj["kind"] in CRD_KINDS:
                continue
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
            checked += 1
    assert checked > 100


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


def test_no_secret_values_in_values_files(rendered: dict[str, list[dict[str, Any]]]) -> None:
    files = [*CHARTS.glob("*/values.yaml"), *CI_VALUES]
    text = "\n".join(p.read_text() for p in files)
    secrets = [o for objs in rendered.values() for o in objs if o["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        for key, value in secret.get("data", {}).items():
            assert value not in text, f"{secret['metadata']['name']}/{key} comes from values"
    for path in files:
        for key in ("AUTH_SECRET:", "INTERNAL_TOKEN:", "LLM_API_KEY:", "password:", "apiKey:"):
            assert key not in path.read_text(), f"{path}: {key}"


@pytest.mark.parametrize("service", sorted(CONTRACT_ENV))
def test_contract_variables_are_wired(
    rendered: dict[str, list[dict[str, Any]]], service: str
) -> None:
    standalone = env_names(rendered[f"{service}-service:default"], f"chatbot-{service}-service")
    umbrella = env_names(rendered["chatbot:default"], f"chatbot-{service}")
    assert CONTRACT_ENV[service] - {"REDIS_URL", "MONGODB_URI"} <= standalone
    assert CONTRACT_ENV[service] <= umbrella, CONTRACT_ENV[service] - umbrella


def test_umbrella_services_point_at_each_other(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["chatbot:default"]
    chat = next(o for o in objects if o["kind"] == "ConfigMap"
                and o["metadata"]["name"] == "chatbot-chat")["data"]
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    assert chat["LLM_SERVICE_URL"] == "http://chatbot-llm:8082/v1"
    assert chat["HISTORY_SERVICE_URL"] == "http://chatbot-history:8083"
    for name, port in (("ui", 8080), ("chat", 8081), ("llm", 8082), ("history", 8083)):
        assert services[f"chatbot-{name}"]["spec"]["ports"][0]["port"] == port
    secret_refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for o in workloads(objects) for c in pod_spec(o)["containers"]
        for e in c.get("env", []) if "valueFrom" in e
    }
    secrets = {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    assert secret_refs - secrets == {"chatbot-llm-upstream"}  # optional, made by the operator


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


def test_network_policies_admit_only_their_clients(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    policies = {o["metadata"]["name"]: o for o in rendered["chatbot:default"]
                if o["kind"] == "NetworkPolicy"}

    def clients(name: str) -> set[str]:
        return {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for rule in policies[name]["spec"]["ingress"] for peer in rule.get("from", [])
        }

    assert clients("chatbot-history") == {"chat"}
    assert clients("chatbot-llm") == {"chat", "ui"}  # the UI lists models
    assert clients("chatbot-mongodb") == {"history"}
    assert clients("chatbot-redis") == {"chat"}
    for open_to_ingress in ("chatbot-ui", "chatbot-chat"):
        assert policies[open_to_ingress]["spec"]["ingress"][0].get("from") is None


def test_ingress_and_httproute_route_one_host(rendered: dict[str, list[dict[str, Any]]]) -> None:
    ingress = next(o for o in rendered["chatbot:ingress-values"] if o["kind"] == "Ingress")
    paths = {p["path"]: p["backend"]["service"]["name"]
             for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths == {"/": "chatbot-ui", "/socket.io/": "chatbot-chat"}
    assert ingress["spec"]["ingressClassName"] == "traefik"
    route = next(o for o in rendered["chatbot:gateway-values"] if o["kind"] == "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    backends = {r["matches"][0]["path"]["value"]: r["backendRefs"][0]["name"]
                for r in route["spec"]["rules"]}
    assert backends == {"/": "chatbot-ui", "/socket.io/": "chatbot-chat"}


def test_monitoring_objects(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["chatbot:monitoring-values"]
    monitors = [o for o in objects if o["kind"] == "ServiceMonitor"]
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    assert len(monitors) == 4
    for m in monitors:
        assert m["apiVersion"] == "monitoring.coreos.com/v1"
        selected = services[m["metadata"]["name"]]
        selector = m["spec"]["selector"]["matchLabels"]
        assert selector.items() <= selected["metadata"]["labels"].items()
        assert m["spec"]["endpoints"] == [{**m["spec"]["endpoints"][0], "port": "http",
                                           "path": "/metrics"}]
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    alerts = yaml.safe_load((REPO / "monitoring/alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            assert isinstance(r["expr"], str) and ("alert" in r) != ("record" in r)
    dashboard = next(o for o in objects if o["kind"] == "ConfigMap"
                     and o["metadata"]["labels"].get("grafana_dashboard") == "1")
    assert json.loads(dashboard["data"]["chatbot.json"])["panels"]
    assert all(o["kind"] not in CRD_KINDS for o in rendered["chatbot:default"])


def test_mongodb_replica_set_in_production_only(rendered: dict[str, list[dict[str, Any]]]) -> None:
    def sts(where: str) -> dict[str, Any]:
        return next(o for o in rendered[where] if o["kind"] == "StatefulSet")

    assert sts("chatbot:production-values")["spec"]["replicas"] == 3
    assert sts("chatbot:dev-values")["spec"]["replicas"] == 1
    env = {e["name"]: e for e in pod_spec(sts("chatbot:production-values"))["containers"][0]["env"]}
    assert env["REPLICA_SET"]["value"] == "rs0"
    assert env["MEMBERS"]["value"].count(".svc:27017") == 3


def test_latest_tag_is_refused(charts: Path) -> None:
    for chart in APP_CHARTS:
        result = helm(
            tools()["HELM3"], "template", "r", str(charts / chart), "--set", "image.tag=latest"
        )
        assert result.returncode != 0, chart


def test_values_schemas_are_current() -> None:
    result = subprocess.run([sys.executable, str(CHARTS / "tools/values_schema.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_every_value_is_documented() -> None:
    for path in CHARTS.glob("*/values.yaml"):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            # Top-level leaves; nested keys are documented at their leaf or by their parent.
            if not line or line[0] in " #-" or line.rstrip().endswith(":"):
                continue
            assert lines[i - 1].lstrip().startswith("# --"), f"{path}:{i + 1} {line}"
