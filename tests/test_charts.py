"""Render, lint and validate every chart with both Helm majors; check the cluster policies."""

from __future__ import annotations

import base64
import importlib
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
    "ui": {"PORT", "AUTH_SECRET", "CHAT_PUBLIC_URL", "STATE_DIR", "UI_INTERNAL_TOKEN",
           "LLM_SERVICE_URL"},
    "chat": {"PORT", "AUTH_SECRET", "LLM_SERVICE_URL", "HISTORY_SERVICE_URL", "REDIS_URL",
             "CHAT_INTERNAL_TOKEN", "ALLOWED_ORIGINS", "STATE_DIR", "SHUTDOWN_GRACE_SECONDS"},
    "llm": {"PORT", "LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL", "CHAT_INTERNAL_TOKEN",
            "UI_INTERNAL_TOKEN", "STATE_DIR"},
    "history": {"PORT", "MONGODB_URI", "CHAT_INTERNAL_TOKEN", "STATE_DIR"},
}
# Internal tokens a service must NOT get (issue 16, finding 10): one token per caller, and
# each service holds only its own and its callers'.
FORBIDDEN_ENV = {
    "ui": {"CHAT_INTERNAL_TOKEN", "INTERNAL_TOKEN"},
    "chat": {"UI_INTERNAL_TOKEN", "INTERNAL_TOKEN"},
    "llm": {"INTERNAL_TOKEN", "AUTH_SECRET"},
    "history": {"UI_INTERNAL_TOKEN", "INTERNAL_TOKEN", "AUTH_SECRET"},
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


@pytest.mark.parametrize("service", sorted(CONTRACT_ENV))
def test_contract_variables_are_wired(
    rendered: dict[str, list[dict[str, Any]]], service: str
) -> None:
    standalone = env_names(rendered[f"{service}-service:default"], f"chatbot-{service}-service")
    umbrella = env_names(rendered["chatbot:default"], f"chatbot-{service}")
    assert CONTRACT_ENV[service] - {"REDIS_URL", "MONGODB_URI"} <= standalone
    assert CONTRACT_ENV[service] <= umbrella, CONTRACT_ENV[service] - umbrella
    assert not FORBIDDEN_ENV[service] & (standalone | umbrella)


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
    job = next(o for o in objects if o["kind"] == "Job")
    spec = json.loads(next(e["value"] for e in pod_spec(job)["containers"][0]["env"]
                           if e["name"] == "SECRETS"))
    secrets = {s["name"] for s in spec}  # created by the pre-install Job
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
    assert clients("chatbot-mongodb") == {"history", "mongodb"}  # replica set members
    assert clients("chatbot-redis") == {"chat"}
    for open_to_ingress in ("chatbot-ui", "chatbot-chat"):
        assert policies[open_to_ingress]["spec"]["ingress"][0].get("from") is None

    def calls(name: str) -> set[tuple[str, int]]:
        """(peer, port) each policy lets the pods open: pod names, CIDRs, "dns"."""
        assert policies[name]["spec"]["policyTypes"] == ["Ingress", "Egress"], name
        out = set()
        for rule in policies[name]["spec"]["egress"]:
            ports = [p["port"] for p in rule["ports"]]
            if "to" not in rule:
                assert ports == [53, 53], (name, rule)
                out.add(("dns", 53))
            for peer in rule.get("to", []):
                label = peer.get("podSelector", {}).get("matchLabels", {})
                assert "ipBlock" in peer or label["app.kubernetes.io/instance"] == "chatbot"
                who = label.get("app.kubernetes.io/name") or peer["ipBlock"]["cidr"]
                out |= {(who, p) for p in ports}
        return out

    assert calls("chatbot-ui") == {("dns", 53), ("llm", 8082)}
    assert calls("chatbot-chat") == {("dns", 53), ("llm", 8082), ("history", 8083),
                                     ("redis", 6379)}
    assert calls("chatbot-llm") == {("dns", 53), ("0.0.0.0/0", 443)}
    llm_block = policies["chatbot-llm"]["spec"]["egress"][1]["to"][0]["ipBlock"]
    assert "10.0.0.0/8" in llm_block["except"]  # never the cluster's private ranges
    assert calls("chatbot-history") == {("dns", 53), ("mongodb", 27017)}
    assert calls("chatbot-mongodb") == {("dns", 53), ("mongodb", 27017)}
    assert calls("chatbot-redis") == set()


def test_ingress_class_defaults_to_the_clusters_default(charts: Path) -> None:
    objects = render(charts, "chatbot", extra=("--set", "ingress.enabled=true"))
    ingress = next(o for o in objects if o["kind"] == "Ingress")
    assert "ingressClassName" not in ingress["spec"]


def test_ingress_and_httproute_route_one_host(rendered: dict[str, list[dict[str, Any]]]) -> None:
    ingress = next(o for o in rendered["chatbot:ingress-values"] if o["kind"] == "Ingress")
    paths = {p["path"]: p["backend"]["service"]["name"]
             for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    # /v1/: the chat service's files and imports (HTTP beside Socket.IO).
    assert paths == {"/": "chatbot-ui", "/socket.io/": "chatbot-chat", "/v1/": "chatbot-chat"}
    assert ingress["spec"]["ingressClassName"] == "traefik"  # set by ci/ingress-values.yaml
    route = next(o for o in rendered["chatbot:gateway-values"] if o["kind"] == "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    backends = {m["path"]["value"]: r["backendRefs"][0]["name"]
                for r in route["spec"]["rules"] for m in r["matches"]}
    assert backends == {"/": "chatbot-ui", "/socket.io/": "chatbot-chat", "/v1/": "chatbot-chat"}


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
    kube_prometheus = yaml.safe_load(
        (REPO / "k8s/monitoring/kube-prometheus-stack-values.yaml").read_text())
    folder_annotation = kube_prometheus["grafana"]["sidecar"]["dashboards"]["folderAnnotation"]
    assert dashboard["metadata"]["annotations"] == {folder_annotation: "Chatbot"}
    assert all(o["kind"] not in CRD_KINDS for o in rendered["chatbot:default"])


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


def test_latest_tag_is_refused(charts: Path) -> None:
    for chart in APP_CHARTS:
        result = helm(
            tools()["HELM3"], "template", "r", str(charts / chart), "--set", "image.tag=latest"
        )
        assert result.returncode != 0, chart
        assert "at '/image/tag'" in result.stderr, (chart, result.stderr)  # refused for the tag


def test_values_schemas_are_current() -> None:
    result = subprocess.run([sys.executable, str(CHARTS / "tools/values_schema.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_chart_readmes_are_current() -> None:
    result = subprocess.run([sys.executable, str(CHARTS / "tools/chart_docs.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_schemas_describe_every_documented_value() -> None:
    schema = json.loads((CHARTS / "chat-service/values.schema.json").read_text())
    assert schema["properties"]["image"]["properties"]["digest"]["description"].startswith(
        "Image digest")
    assert "CHAT_PUBLIC_URL" not in json.dumps(schema)
    ui = json.loads((CHARTS / "ui-service/values.schema.json").read_text())
    assert ui["properties"]["chatPublicUrl"]["description"].startswith("CHAT_PUBLIC_URL")


def test_packaged_dependencies_are_not_committed() -> None:
    tracked = subprocess.run(["git", "ls-files", "charts"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert not [p for p in tracked if p.endswith((".tgz", "Chart.lock"))]
    for chart in ALL_CHARTS:
        meta = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
        assert meta["home"] and meta["sources"] and meta["maintainers"], chart


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


def test_every_value_is_documented() -> None:
    """Every leaf value has a `# --` comment, on itself or on a map above it."""
    sys.path.insert(0, str(CHARTS / "tools"))
    from values_docs import value_docs

    def leaves(node: Any, path: str) -> list[str]:
        if isinstance(node, dict) and node:
            return [p for k, v in node.items() for p in leaves(v, f"{path}.{k}" if path else k)]
        return [path]

    for path in CHARTS.glob("*/values.yaml"):
        docs = value_docs(path)
        for leaf in leaves(yaml.safe_load(path.read_text()), ""):
            parts = leaf.split(".")
            assert any(".".join(parts[:n]) in docs for n in range(1, len(parts) + 1)), (
                f"{path}: {leaf} has no # -- comment")


# Where the services' settings live; the chart's ConfigMap must parse with them.
SETTINGS = {
    "ui": "ui_service.settings:UiSettings",
    "chat": "chat_service.settings:Settings",
    "llm": "llm_service.settings:LlmSettings",
    "history": "history_service.settings:HistorySettings",
}
# Values the charts set for the cluster (addresses, paths, drain): not the services' defaults.
DEPLOYMENT_KEYS = {"HOST", "STATE_DIR", "SHUTDOWN_GRACE_SECONDS", "LLM_SERVICE_URL",
                   "HISTORY_SERVICE_URL", "ALLOWED_ORIGINS", "CHAT_PUBLIC_URL",
                   "LLM_MODEL_CACHE_DIR"}
# Settings exposed since the contract's wiring (issue 6/9), per service.
NEWER_ENV = {
    "ui": {"OIDC_ALGORITHMS", "TOKEN_TTL_SECONDS", "TOKEN_RENEW_WINDOW_SECONDS"},
    "chat": {"OIDC_ALGORITHMS", "TAKEOVER_MODE", "ANSWER_LEASE_SECONDS",
             "DELTA_INTERVAL_MS", "RATE_EVENTS_PER_SECOND", "RATE_MESSAGES_PER_MINUTE",
             "RATE_MESSAGES_WINDOW_SECONDS", "RATE_TOKENS_PER_DAY", "RATE_TOKENS_WINDOW_SECONDS",
             "MAX_CONNECTIONS_PER_USER"},
    "llm": {"LLM_CONNECT_TIMEOUT", "LLM_FIRST_TOKEN_TIMEOUT", "LLM_IDLE_TIMEOUT",
            "LLM_MAX_RETRIES", "LLM_CONTEXT_TOKENS", "LLM_MAX_TOKENS", "STREAM_READ_INTERVAL_MS"},
    "history": {"MONGODB_WRITE_CONCERN", "MONGODB_JOURNAL", "MONGODB_READ_CONCERN",
                "MONGODB_MAX_POOL_SIZE", "MONGODB_SOCKET_TIMEOUT_MS"},
}


def config_of(objects: list[dict[str, Any]], name: str) -> dict[str, str]:
    return next(o for o in objects if o["kind"] == "ConfigMap"
                and o["metadata"]["name"] == name)["data"]


def service_settings(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The service's settings read from ``env``, as in its pod."""
    module, cls = SETTINGS[service].split(":")
    with monkeypatch.context() as m:
        for name, value in env.items():
            m.setenv(name, value)
        return getattr(importlib.import_module(module), cls)()


def env_fields(settings_cls: Any) -> dict[str, str]:
    """Variable name -> field name of a settings class."""
    out = {}
    for field, info in settings_cls.model_fields.items():
        alias = info.validation_alias
        for name in getattr(alias, "choices", [alias]):
            out[str(name)] = field
    return out


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_chart_defaults_are_the_services_defaults(
    rendered: dict[str, list[dict[str, Any]]], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = config_of(rendered[f"{service}-service:default"], f"chatbot-{service}-service")
    assert NEWER_ENV[service] <= set(data), NEWER_ENV[service] - set(data)
    settings = service_settings(service, data, monkeypatch)
    fields = env_fields(type(settings))
    for name in set(data) - DEPLOYMENT_KEYS - {"PORT"}:
        default = type(settings).model_fields[fields[name]].get_default(call_default_factory=True)
        assert getattr(settings, fields[name]) == default, name
    assert "OIDC_ISSUER" not in data and "DEFAULT_MODEL" not in data  # "" = not rendered


OVERRIDES = """
global:
  auth: {guestAccess: true, oidc: {issuer: "https://id.example", clientId: chatbot,
                                   rolesClaim: "roles", adminRole: ops, algorithms: ES256,
                                   clientSecret: {value: s3cret}}}
chat-service:
  takeoverMode: interrupt
  deltaIntervalMs: 50.0
  rateLimits: {eventsPerSecond: 5, tokensPerDay: 2000000, messagesWindowSeconds: 30.5}
llm-service:
  upstream: {timeouts: {firstTokenSeconds: 90.0}, retries: {maxRetries: 0}}
  maxTokens: 2048
  streamReadIntervalMs: 0
  fallbacks:
    - {name: backup, baseUrl: "http://vllm:8000/v1", model: m2,
       existingSecret: "{{ .Release.Name }}-backup", apiKeyKey: key}
    - {baseUrl: "http://other:8000/v1", model: m3}
history-service:
  mongodb: {writeConcern: 1, journal: false, readConcern: local, maxPoolSize: 8000000}
"""


def test_new_values_reach_the_services(
    charts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (values := tmp_path / "values.yaml").write_text(OVERRIDES)
    objects = render(charts, "chatbot", values)
    for service in ("ui", "chat"):  # global.auth reaches both
        data = config_of(objects, f"chatbot-{service}")
        s = service_settings(service, data, monkeypatch)
        assert (s.guests_allowed, s.oidc_issuer, s.oidc_client_id, s.algorithms) == (
            True, "https://id.example", "chatbot", ["ES256"])
        assert (s.oidc_roles_claim, s.oidc_admin_role) == ("roles", "ops")
    # The client secret: a Secret of the UI chart, only the UI's pods read it.
    secret = next(o for o in objects if o["kind"] == "Secret"
                  and o["metadata"]["name"] == "chatbot-ui-oidc")
    assert secret["stringData"] == {"OIDC_CLIENT_SECRET": "s3cret"}
    for name, wanted in (("chatbot-ui", True), ("chatbot-chat", False)):
        pod = next(o for o in workloads(objects) if o["metadata"]["name"] == name)
        env = {e["name"]: e for e in pod_spec(pod)["containers"][0].get("env", [])}
        assert ("OIDC_CLIENT_SECRET" in env) is wanted, name
        if wanted:
            assert env["OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
                "name": "chatbot-ui-oidc", "key": "OIDC_CLIENT_SECRET"}
    chat = service_settings("chat", config_of(objects, "chatbot-chat"), monkeypatch)
    assert (chat.takeover_mode, chat.delta_interval_ms, chat.events_per_second) == (
        "interrupt", 50.0, 5)
    assert (chat.tokens_per_day, chat.messages_window_seconds) == (2_000_000, 30.5)
    history = config_of(objects, "chatbot-history")
    assert history["MONGODB_MAX_POOL_SIZE"] == "8000000"  # never 8e+06
    h = service_settings("history", history, monkeypatch)
    assert (h.mongodb_write_concern, h.mongodb_journal, h.mongodb_read_concern) == (
        "1", False, "local")
    llm = next(o for o in workloads(objects) if o["metadata"]["name"] == "chatbot-llm")
    env = {e["name"]: e for e in pod_spec(llm)["containers"][0]["env"]}
    assert env["LLM_FALLBACK_0_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "chatbot-backup", "key": "key"}
    names = [e["name"] for e in pod_spec(llm)["containers"][0]["env"]]
    assert names.index("LLM_FALLBACK_0_API_KEY") < names.index("LLM_FALLBACKS")  # $(VAR) order
    # Kubernetes substitutes $(LLM_FALLBACK_0_API_KEY) from the Secret.
    fallbacks = env["LLM_FALLBACKS"]["value"].replace("$(LLM_FALLBACK_0_API_KEY)", "sk-0")
    data = config_of(objects, "chatbot-llm") | {"LLM_FALLBACKS": fallbacks}
    s = service_settings("llm", data, monkeypatch)
    assert [(f.name, f.base_url, f.model, f.api_key) for f in s.fallbacks] == [
        ("backup", "http://vllm:8000/v1", "m2", "sk-0"), (None, "http://other:8000/v1", "m3", None)]
    assert (s.first_token_timeout, s.max_retries, s.max_tokens) == (90.0, 0, 2048)
    assert s.stream_read_interval_ms == 0  # 0 is a value (paced reads off), not "unset"


@pytest.mark.parametrize(("bad", "why"), [
    # no client id: the services refuse
    ("global.auth.oidc.issuer=https://id.example", "auth.oidc.issuer needs"),
    ("chat-service.takeoverMode=resume", "at '/takeoverMode'"),
    ("history-service.mongodb.readConcern=snapshot", "at '/mongodb/readConcern'"),
    ("llm-service.fallbacks[0].baseUrl=http://x/v1", "missing property 'model'"),
])
def test_invalid_settings_are_refused_at_render(charts: Path, bad: str, why: str) -> None:
    result = helm(tools()["HELM3"], "template", "r", str(charts / "chatbot"), "--set", bad)
    assert result.returncode != 0, bad
    assert why in result.stderr, (bad, result.stderr)  # refused for this reason, not another
