"""How the charts connect: service addresses, network policies, ingress and HTTPRoute,
monitoring objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.charts_support import CRD_KINDS, REPO, pod_spec, render, workloads


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
