"""The dev-loop files (Tiltfile, skaffold.yaml, k8s/) agree with the services and the charts.

Tilt, Skaffold and kind are not run here: their files are parsed (the Tiltfile is kept to the
Python-compatible subset of Starlark) and the umbrella chart is rendered with helm using the
values those tools set.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts_support import REPO, SERVICES, built_charts, render, tools

PACKAGES = tuple(f"{s}_service" for s in SERVICES)
PORTS = {"ui": 8080, "chat": 8081, "llm": 8082, "history": 8083}
K8S_YAML = sorted(p for p in (REPO / "k8s").rglob("*.yaml") if "local" not in p.parts)
SCRIPTS = ("kind-up.sh", "deploy.sh", "undeploy.sh", "dev.sh", "prepare-image.sh")


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_charts(tmp_path_factory.mktemp("helm"))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def tiltfile() -> ast.Module:
    return ast.parse((REPO / "Tiltfile").read_text(), "Tiltfile")


def literal(tree: ast.Module, name: str) -> Any:
    """The value of a top-level constant NAME = <literal> of the Tiltfile."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"Tiltfile has no {name}")


def calls(tree: ast.Module, function: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == function
    ]


def kwarg(call: ast.Call, name: str) -> ast.expr:
    return next(k.value for k in call.keywords if k.arg == name)


def test_tiltfile_builds_every_service_from_the_dockerfile(tiltfile: ast.Module) -> None:
    services = literal(tiltfile, "SERVICES")
    assert set(services) == set(PACKAGES)
    assert {name for name, _ in services.values()} == set(SERVICES)
    (build,) = calls(tiltfile, "docker_build_with_restart")  # one call, looped over services
    assert ast.literal_eval(kwarg(build, "dockerfile")) == "docker/Dockerfile"
    assert (REPO / "docker/Dockerfile").is_file()
    build_args = kwarg(build, "build_args")
    assert isinstance(build_args, ast.Dict)
    assert [ast.literal_eval(k) for k in build_args.keys if k] == ["SERVICE"]
    assert len(calls(tiltfile, "chatbot_service")) == 1
    # The paths synced and shipped exist, and land where the Dockerfile puts them.
    dockerfile = (REPO / "docker/Dockerfile").read_text()
    assert "COPY services/${SERVICE}/src/ /app/services/${SERVICE}/src/" in dockerfile
    assert "COPY services/common/src/ /app/services/common/src/" in dockerfile
    for package in PACKAGES:
        assert (REPO / f"services/{package}/src/{package}").is_dir()
    for local_path, image_path in literal(tiltfile, "EXTRA_SYNC")["ui_service"].items():
        assert (REPO / local_path).is_dir() and image_path == f"/app/{local_path}"


def test_tiltfile_deploys_the_umbrella_chart_with_port_forwards(tiltfile: ast.Module) -> None:
    (chart,) = calls(tiltfile, "helm")
    assert ast.literal_eval(chart.args[0]) == "charts/chatbot"
    for values in ast.literal_eval(kwarg(chart, "values")):
        assert (REPO / values).is_file()
    services = literal(tiltfile, "SERVICES")
    assert {name: port for name, port in services.values()} == PORTS
    text = (REPO / "Tiltfile").read_text()
    assert "port_forwards=['%d:%d' % (port, port)]" in text
    assert re.search(r"resource_deps=\[stage, 'mongodb', 'redis'\]", text)
    assert "cmd='k8s/prepare-image.sh ' + service" in text


def test_tilt_values_render_writable_containers_without_test_pods(charts: Path) -> None:
    objects = render(
        charts,
        "chatbot",
        REPO / "k8s/values-kind.yaml",
        extra=("-f", str(REPO / "k8s/values-tilt.yaml")),
    )
    assert not [o for o in objects if o["kind"] == "Pod"]  # helm test hooks
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    for name in SERVICES:
        (container,) = deployments[f"chatbot-{name}"]["spec"]["template"]["spec"]["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is False


@pytest.fixture(scope="module")
def skaffold() -> dict[str, Any]:
    config: dict[str, Any] = load(REPO / "skaffold.yaml")
    return config


def test_skaffold_has_one_artifact_per_service(skaffold: dict[str, Any]) -> None:
    artifacts = skaffold["build"]["artifacts"]
    assert sorted(a["docker"]["buildArgs"]["SERVICE"] for a in artifacts) == sorted(PACKAGES)
    for a in artifacts:
        service = a["docker"]["buildArgs"]["SERVICE"]
        assert a["image"] == "chatbot/" + service.replace("_", "-")
        assert a["context"] == "." and a["docker"]["dockerfile"] == "docker/Dockerfile"
        assert a["hooks"]["before"] == [{"command": ["k8s/prepare-image.sh", service]}]
    assert {p["name"] for p in skaffold["profiles"]} == {"dev", "kind"}
    forwards = {f["resourceName"]: (f["port"], f["localPort"]) for f in skaffold["portForward"]}
    assert forwards == {f"chatbot-{s}": (p, p) for s, p in PORTS.items()}


def test_skaffold_image_values_reach_the_deployments(
    skaffold: dict[str, Any], charts: Path
) -> None:
    """Substitute skaffold's template variables, render, find each artifact's image."""
    (release,) = skaffold["deploy"]["helm"]["releases"]
    assert release["chartPath"] == "charts/chatbot"
    images = {a["image"]: f"t-{i}" for i, a in enumerate(skaffold["build"]["artifacts"])}
    variables = {}
    for image, tag in images.items():
        key = re.sub(r"[^A-Za-z0-9]", "_", image)
        # Skaffold's split of a Docker Hub name: domain docker.io, the rest as written.
        variables[f"IMAGE_DOMAIN_{key}"], variables[f"IMAGE_REPO_NO_DOMAIN_{key}"] = (
            "docker.io", image)
        variables[f"IMAGE_TAG_{key}"] = tag
    sets: list[str] = []
    for key, template in release["setValueTemplates"].items():
        (var,) = re.fullmatch(r"\{\{\.(\w+)\}\}", template).groups()  # type: ignore[union-attr]
        sets += ["--set", f"{key}={variables[var]}"]
    objects = render(charts, "chatbot", REPO / "k8s/values-kind.yaml", extra=tuple(sets))
    rendered = {
        c["image"]
        for o in objects
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert {f"docker.io/{image}:{tag}" for image, tag in images.items()} <= rendered
    # setValueTemplates name real values of the service charts.
    for key in release["setValueTemplates"]:
        chart, *path = key.split(".")
        node = load(REPO / "charts" / chart / "values.yaml")
        for part in path:
            node = node[part]


def test_skaffold_syncs_what_the_tiltfile_live_updates(
    skaffold: dict[str, Any], tiltfile: ast.Module
) -> None:
    """Same files, same destinations; the dev profile restarts the process on a synced edit."""
    extra = literal(tiltfile, "EXTRA_SYNC")
    for artifact in skaffold["build"]["artifacts"]:
        service = artifact["docker"]["buildArgs"]["SERVICE"]
        synced = {(r["src"].split("/**")[0], r["dest"]) for r in artifact["sync"]["manual"]}
        tilt = {f"services/{service}/src", "services/common/src", *extra.get(service, {})}
        assert synced == {(path, "/app") for path in tilt}, service
        for path in tilt:  # Tilt: sync(path, '/app/' + path); Skaffold: dest + the same path
            assert (REPO / path).is_dir()
    dev = next(p for p in skaffold["profiles"] if p["name"] == "dev")
    files = [patch["value"] for patch in dev["patches"]]
    assert files == ["ci/dev-values.yaml", "k8s/values-tilt.yaml", "k8s/values-skaffold-dev.yaml"]
    restart = load(REPO / "k8s/values-skaffold-dev.yaml")
    for package in PACKAGES:
        args = restart[package.replace("_", "-")]["args"]
        assert args[0] == "watchfiles" and f"python -m {package}" in args
    assert skaffold["deploy"]["helm"]["hooks"]["before"] == [
        {"host": {"command": ["charts/tools/build-deps.sh"]}}]


def test_skaffold_dev_render_runs_the_services_under_watchfiles(charts: Path) -> None:
    objects = render(charts, "chatbot", REPO / "k8s/values-kind.yaml", extra=(
        "-f", str(REPO / "ci/dev-values.yaml"), "-f", str(REPO / "k8s/values-tilt.yaml"),
        "-f", str(REPO / "k8s/values-skaffold-dev.yaml")))
    for o in objects:
        if o["kind"] == "Deployment" and o["metadata"]["name"] != "chatbot-redis":
            (c,) = o["spec"]["template"]["spec"]["containers"]
            assert c["args"][0] == "watchfiles" and "command" not in c  # tini stays PID 1
            assert c["securityContext"]["readOnlyRootFilesystem"] is False
    assert not [o for o in objects if o["kind"] == "Job"]  # fixed dev secrets: no hook Job


@pytest.mark.parametrize("path", K8S_YAML, ids=lambda p: str(p.relative_to(REPO)))
def test_k8s_yaml_parses(path: Path) -> None:
    assert [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_kind_config_maps_http_and_https() -> None:
    config = load(REPO / "k8s/kind-config.yaml")
    (node,) = config["nodes"]
    assert {(m["containerPort"], m["hostPort"]) for m in node["extraPortMappings"]} == {
        (80, 80),
        (443, 443),
    }
    assert node["labels"]["ingress-ready"] == "true"
    traefik = load(REPO / "k8s/ingress/traefik-values.yaml")
    assert traefik["nodeSelector"] == {"ingress-ready": "true"}
    assert {traefik["ports"]["web"]["hostPort"], traefik["ports"]["websecure"]["hostPort"]} == {
        80,
        443,
    }
    kind_values = load(REPO / "k8s/values-kind.yaml")
    assert kind_values["ingress"]["className"] == traefik["ingressClass"]["name"] == "traefik"


def test_kind_values_lint_and_route_the_ingress(charts: Path) -> None:
    result = subprocess.run(
        [
            tools()["HELM3"],
            "lint",
            "--strict",
            str(charts / "chatbot"),
            "-f",
            str(REPO / "k8s/values-kind.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    objects = render(charts, "chatbot", REPO / "k8s/values-kind.yaml")
    (ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["rules"][0]["host"] == "chatbot.localtest.me"
    (mongodb,) = [o for o in objects if o["kind"] == "StatefulSet"]
    assert mongodb["spec"]["replicas"] == 1


def test_local_cluster_values_still_fit_the_charts(charts: Path) -> None:
    """k8s/local-values.yaml (the live-cluster tests') passes the schemas and keeps its upstream."""
    values = REPO / "k8s/local-values.yaml"
    for helm_bin in ("HELM3", "HELM4"):
        result = subprocess.run(
            [tools()[helm_bin], "lint", "--strict", str(charts / "chatbot"), "-f", str(values)],
            capture_output=True, text=True, check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    objects = render(charts, "chatbot", values)
    llm = next(o for o in objects if o["kind"] == "ConfigMap"
               and o["metadata"]["name"] == "chatbot-llm")["data"]
    assert llm["LLM_BASE_URL"] == "http://chatbot-fake-llm:8090/v1"
    assert llm["LLM_FIRST_TOKEN_TIMEOUT"] == "60"  # the newer settings at their defaults


def test_service_monitor_jobs_match_the_alerts_for_any_release(charts: Path) -> None:
    alerts = (REPO / "monitoring/alerts.yml").read_text()
    for release in ("chatbot", "prod-eu"):
        objects = render(charts, "chatbot", REPO / "ci/monitoring-values.yaml", release=release)
        jobs = set()
        for monitor in (o for o in objects if o["kind"] == "ServiceMonitor"):
            (endpoint,) = monitor["spec"]["endpoints"]
            (relabel,) = [r for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
            jobs.add(relabel["replacement"])
        assert jobs == {f"chatbot-{s}" for s in SERVICES}
    assert 'up{job=~"chatbot-(ui|chat|llm|history)"}' in alerts


def test_kube_prometheus_stack_selects_our_objects() -> None:
    values = load(REPO / "k8s/monitoring/kube-prometheus-stack-values.yaml")
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    sidecar = values["grafana"]["sidecar"]["dashboards"]
    assert (sidecar["label"], sidecar["labelValue"], sidecar["searchNamespace"]) == (
        "grafana_dashboard",
        "1",
        "ALL",
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_valid_bash(script: str) -> None:
    path = REPO / "k8s" / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
