"""The dashboard and alerts against the running system: real services, a real Prometheus.

1. Every metric name the dashboard and the alerts use is exported by the services' /metrics
   after some traffic (conversations created, answers streamed).
2. A real Prometheus (Debian's /usr/bin/prometheus) scrapes the stack every second with the
   alert rules loaded; after a few conversations its HTTP API returns non-zero values for the
   dashboard's main queries, and every dashboard query and rule evaluates without error.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitoring import checks
from tests.support.chat_client import ChatClient
from tests.support.processes import Proc, free_port, start_process, start_service
from tests.support.stack import Stack

# Names Prometheus makes itself rather than scraping them.
SYNTHETIC = {"up"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}

# Dashboard panels whose every query must show a non-zero value after healthy traffic.
# (Error, retry, trimming and circuit panels are legitimately zero or empty then.)
MAIN_PANELS = [
    "Chat events/s", "Answers/s", "Time to first token p95", "Open connections",
    "Chat events/s by event", "Messages stored/s", "Answers/s by outcome",
    "HTTP requests/s by service", "Deltas emitted/s", "LLM requests/s",
    "Time to first token: chat", "Time to first token: LLM by upstream/model",
    "Inter-token latency", "HTTP p95 per route", "History store operations p95",
    "Chat event ack p95", "History store up", "Targets up", "Tokens/s in and out",
]
JOBS = {name: f"chatbot-{name}" for name in ("ui", "chat", "llm", "history")}


async def _conversation(stack: Stack, client: ChatClient) -> None:
    ack = await client.ok("conversation.create", {"title": "monitoring"})
    cid = ack["conversation"]["id"]
    await client.ok(
        "message.send",
        {"conversation_id": cid, "client_message_id": uuid.uuid4().hex, "content": "hello"},
    )
    await client.wait_done(cid)
    await client.ok("conversation.list", {})
    await client.ok("conversation.get", {"conversation_id": cid})


async def _traffic(stack: Stack, client: ChatClient, conversations: int) -> None:
    for _ in range(conversations):
        await _conversation(stack, client)


async def _connect(stack: Stack) -> ChatClient:
    token, _ = stack.guest_token()
    return await ChatClient(stack.chat.url, token, origin=stack.ui.url).connect()


def _exported_names(text: str) -> set[str]:
    """Sample names a /metrics page exports (declared families count even with no child yet)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        names.update(family.name + s for s in SUFFIXES.get(family.type, ()))
    return names


def _scrape_all(stack: Stack) -> dict[str, set[str]]:
    out = {}
    for name in JOBS:
        proc: Proc = getattr(stack, name)
        r = httpx.get(proc.url + "/metrics", timeout=10)
        r.raise_for_status()
        out[name] = _exported_names(r.text)
    return out


def _used_names() -> dict[str, list[str]]:
    """Metric name → where it is used (dashboard panel titles, alert and record names)."""
    used: dict[str, list[str]] = {}
    for title, expr in checks.dashboard_queries():
        for name in checks.metric_names(checks.concrete(expr)):
            used.setdefault(name, []).append(f"dashboard: {title}")
    for rule in checks.alert_rules():
        for name in checks.metric_names(rule["expr"]):
            used.setdefault(name, []).append(f"rule: {rule.get('alert') or rule.get('record')}")
    recorded = checks.recorded_names()
    return {n: w for n, w in used.items() if n not in recorded and n not in SYNTHETIC}


def test_every_metric_the_dashboard_and_alerts_use_is_exported(stack: Stack) -> None:
    async def run() -> None:
        client = await _connect(stack)
        try:
            await _traffic(stack, client, 2)
        finally:
            await client.close()

    asyncio.run(run())
    exported = _scrape_all(stack)
    every = set().union(*exported.values())
    missing = {name: where for name, where in _used_names().items() if name not in every}
    assert not missing, "not exported by any service:\n" + "\n".join(
        f"  {name}  (used by {', '.join(sorted(set(where)))})" for name, where in missing.items()
    )
    # Each service exports the common HTTP metrics.
    for service, names in exported.items():
        assert "http_requests_total" in names, service


def _address(stack: Stack, name: str) -> str:
    proc: Proc = getattr(stack, name)
    return f"127.0.0.1:{proc.port}"


def _start_prometheus(root: Path, targets: dict[str, str]) -> Proc:
    """Prometheus scraping ``{job: address}`` every second, with monitoring/alerts.yml loaded."""
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(checks.ALERTS)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [address]}]}
            for job, address in targets.items()
        ],
    }
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    return start_process(
        "prometheus",
        [
            "/usr/bin/prometheus",
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        port=port,
        health_path="/-/ready",
    )


@pytest.fixture(scope="module")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    """Prometheus scraping the whole stack."""
    targets = {job: _address(stack, name) for name, job in JOBS.items()}
    proc = _start_prometheus(tmp_path_factory.mktemp("prometheus"), targets)
    try:
        yield proc
    finally:
        proc.stop()


def _query(prom: Proc, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(prom.url + "/api/v1/query", params={"query": expr}, timeout=10)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _nonzero(result: list[dict[str, Any]]) -> bool:
    return any(s["value"][1] not in ("0", "NaN") for s in result)


def _wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def test_prometheus_sees_the_dashboards_main_queries_non_zero(
    stack: Stack, prometheus: Proc
) -> None:
    # Every target up before the traffic, so counters are seen before and after it.
    assert _wait_until(lambda: len(_query(prometheus, "up == 1")) == len(JOBS), 15), _query(
        prometheus, "up"
    )

    async def run() -> None:
        client = await _connect(stack)  # stays connected: "Open connections" is non-zero
        try:
            await _traffic(stack, client, 1)  # creates every labelled series
            await asyncio.sleep(2.5)  # two scrapes
            await _traffic(stack, client, 3)
            await asyncio.sleep(2.5)
            zero = await asyncio.to_thread(_zero_main_queries, prometheus)
            assert not zero, "zero or empty in Prometheus:\n" + "\n".join(zero)
        finally:
            await client.close()

    asyncio.run(run())

    # Every query of the dashboard and every rule evaluates (empty is fine for error panels).
    for _, expr in checks.dashboard_queries():
        _query(prometheus, checks.concrete(expr))
    r = httpx.get(prometheus.url + "/api/v1/rules", timeout=10).json()
    groups = r["data"]["groups"]
    assert {g["name"] for g in groups} == {"chatbot-slo.rules", "chatbot.alerts"}
    unhealthy = [rule["name"] for g in groups for rule in g["rules"] if rule["health"] == "err"]
    assert not unhealthy


def _zero_main_queries(prom: Proc) -> list[str]:
    """Main panel queries still zero after polling a little (bounded), as 'title: expr'."""
    queries = [(t, checks.concrete(e)) for t, e in checks.dashboard_queries() if t in MAIN_PANELS]
    assert {t for t, _ in queries} == set(MAIN_PANELS)
    zero = []
    for title, expr in queries:
        if not _wait_until(lambda expr=expr: _nonzero(_query(prom, expr)), 10):
            zero.append(f"  {title}: {expr} -> {_query(prom, expr)}")
    return zero


def test_a_failing_upstream_shows_as_errors_retries_and_an_open_circuit(tmp_path: Path) -> None:
    """Error metrics carry real samples, and the circuit alert goes pending in Prometheus."""
    upstream = start_process(
        "fake_upstream_500",
        [sys.executable, "-m", "tests.support.fake_upstream"],
        env={"FAKE_FAULT": "500"},
        health_path="/v1/models",
    )
    procs = [upstream]
    try:
        llm_port = free_port()  # Prometheus starts first and scrapes the LLM once it listens
        prom = _start_prometheus(tmp_path, {"chatbot-llm": f"127.0.0.1:{llm_port}"})
        procs.append(prom)
        llm = start_service(
            "llm_service",
            port=llm_port,
            env={
                "STATE_DIR": str(tmp_path),
                "LLM_BASE_URL": upstream.url + "/v1",
                "LLM_API_KEY": "test-upstream-key",
                "LLM_MODEL": "fake/echo-1",
                "LLM_MAX_RETRIES": "1",
                "LLM_RETRY_BASE_DELAY": "0.01",
                "LLM_BREAKER_FAILURES": "2",
                "LLM_BREAKER_RESET_SECONDS": "300",
            },
        )
        procs.append(llm)
        assert _wait_until(lambda: len(_query(prom, "up == 1")) == 1, 15)
        body = {"model": "fake/echo-1", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(3):
            r = httpx.post(llm.url + "/v1/chat/completions", json=body, timeout=30)
            assert r.status_code >= 500, r.text
        for expr in (
            'llm_circuit_state{job="chatbot-llm"} == 2',
            "sum(llm_upstream_errors_total) > 0",  # created by the failures: no rate yet
            "sum(llm_retries_total) > 0",
        ):
            assert _wait_until(lambda expr=expr: bool(_query(prom, expr)), 10), expr

        def circuit_alert() -> list[dict[str, Any]]:
            alerts = httpx.get(prom.url + "/api/v1/alerts", timeout=10).json()["data"]["alerts"]
            return [a for a in alerts if a["labels"]["alertname"] == "LLMCircuitOpen"]

        assert _wait_until(lambda: bool(circuit_alert()), 10)
        (alert,) = circuit_alert()
        assert alert["state"] in {"pending", "firing"}
        assert alert["labels"]["severity"] == "critical"
    finally:
        for proc in reversed(procs):
            proc.stop()
