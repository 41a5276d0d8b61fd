"""Static checks of monitoring/: Prometheus config, alert rules and their unit tests, dashboard.

promtool (Debian's `prometheus` package, installed by `make test`) is the parser and rule
tester; nothing here needs the services running (tests/test_monitoring_live.py does).
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from monitoring import checks, dashboard
from scripts.run_local import SERVICES


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], capture_output=True, text=True, check=False, cwd=checks.HERE
    )


def test_prometheus_config_is_valid_and_scrapes_make_run_ports() -> None:
    proc = promtool("check", "config", str(checks.PROMETHEUS_CONFIG))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = yaml.safe_load(checks.PROMETHEUS_CONFIG.read_text())
    targets = {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in config["scrape_configs"]
    }
    for module, _var, port in SERVICES:
        job = "chatbot-" + module.removesuffix("_service")
        assert targets[job] == [f"127.0.0.1:{port}"]
    assert config["rule_files"] == ["alerts.yml"]


def test_alert_rules_pass_promtool_check() -> None:
    proc = promtool("check", "rules", str(checks.ALERTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_alert_unit_tests_pass() -> None:
    proc = promtool("test", "rules", str(checks.ALERTS_TEST))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def _alert_tests() -> list[dict[str, Any]]:
    doc = yaml.safe_load(checks.ALERTS_TEST.read_text())
    return [case for group in doc["tests"] for case in group.get("alert_rule_test", [])]


@pytest.mark.parametrize(
    "alert", [r["alert"] for r in checks.alert_rules() if "alert" in r]
)
def test_every_alert_is_tested_firing_and_silent(alert: str) -> None:
    cases = [c for c in _alert_tests() if c["alertname"] == alert]
    assert any(c["exp_alerts"] for c in cases), f"{alert}: no test where it fires"
    assert any(not c["exp_alerts"] for c in cases), f"{alert}: no test where it stays silent"


def test_alerts_carry_severity_summary_description_and_runbook() -> None:
    anchors = set(re.findall(r"^## (\S+)$", checks.RUNBOOK.read_text(), re.MULTILINE))
    alerts = [r for r in checks.alert_rules() if "alert" in r]
    assert len(alerts) >= 10
    for rule in alerts:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        notes = rule["annotations"]
        for key in ("summary", "description", "runbook_hint", "runbook_url"):
            assert notes.get(key, "").strip(), f"{rule['alert']} has no {key}"
        assert "runbook" not in notes  # kube-prometheus reads runbook_url
        anchor = re.fullmatch(
            r"https://github\.com/chatbot-platform/chatbot/blob/main/monitoring/RUNBOOK\.md"
            r"#([\w-]+)", notes["runbook_url"])
        assert anchor and anchor.group(1) in anchors, f"{rule['alert']}: runbook anchor missing"


def test_every_dashboard_query_is_scoped_by_namespace_and_job() -> None:
    board = checks.load_dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert {"datasource", "namespace", "job"} <= set(variables)
    for name in ("namespace", "job"):
        assert variables[name]["includeAll"] and variables[name]["multi"]
    for title, expr in checks.dashboard_queries(board):
        for metric in checks.metric_names(checks.concrete(expr)):
            for selector in re.findall(rf"(?<![\w\"]){metric}(\{{[^}}]*\}})?", expr):
                assert 'namespace=~"$namespace"' in selector, (title, metric, expr)
                assert 'job=~"$job"' in selector, (title, metric, expr)


def test_every_promql_expression_parses() -> None:
    exprs = [checks.concrete(e) for _, e in checks.dashboard_queries()]
    exprs += [r["expr"] for r in checks.alert_rules()]
    assert len(exprs) > 40
    assert checks.promtool_parse(exprs) == {}


def test_the_parser_check_rejects_broken_promql() -> None:
    bad = ["sum(rate(chat_events_total[5m])", "rate(chat_events_total)", "up{job=}"]
    assert set(checks.promtool_parse([*bad, "up"])) == set(bad)


def test_grafana_variables_become_concrete_durations() -> None:
    assert checks.concrete("rate(x[$__rate_interval])") == "rate(x[1m])"
    assert checks.concrete("rate(x[${__interval}])") == "rate(x[30s])"
    with pytest.raises(ValueError, match="unknown Grafana variable"):
        checks.concrete("x{job=$nope}")


def test_metric_names_are_read_from_selectors_only() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, upstream) (rate(llm_ttft_bucket{job="a:b"}[5m])))'
        " / on (upstream) group_left (model) max without (instance) (foo:bar offset 5m)"
        ' or vector(0) and bool_metric > bool 1 unless absent(up{job="x y"}) + 1e3'
    )
    assert checks.metric_names(expr) == {"llm_ttft_bucket", "foo:bar", "bool_metric", "up"}


def test_dashboard_json_is_generated_from_dashboard_py() -> None:
    assert checks.DASHBOARD.read_text() == dashboard.render(), (
        "run `uv run python monitoring/dashboard.py` and commit the JSON"
    )


def test_dashboard_imports_into_any_grafana() -> None:
    board = checks.load_dashboard()
    assert board["uid"] == "chatbot-overview"
    assert board["schemaVersion"] >= 36
    (var,) = [v for v in board["templating"]["list"] if v["name"] == "datasource"]
    assert var["type"] == "datasource" and var["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_dashboard_panels_do_not_overlap() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in checks.load_dashboard()["panels"]:
        g = panel["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_dashboard_covers_traffic_latency_errors_saturation_tokens() -> None:
    rows = [p["title"] for p in checks.load_dashboard()["panels"] if p["type"] == "row"]
    assert {"Traffic", "Latency", "Errors", "Saturation", "Tokens"} <= set(rows)
    used = set().union(*(checks.metric_names(checks.concrete(e))
                         for _, e in checks.dashboard_queries()))
    for needed in (
        "chat_events_total", "chat_answers_total", "chat_messages_stored_total",
        "chat_time_to_first_token_seconds_bucket", "llm_time_to_first_token_seconds_bucket",
        "chat_inter_token_latency_seconds_bucket", "http_request_duration_seconds_bucket",
        "history_operation_duration_seconds_bucket", "llm_upstream_errors_total",
        "llm_retries_total", "chat_connections", "chat_answers_in_flight", "llm_circuit_state",
        "history_store_up", "llm_tokens_total",
    ):
        assert needed in used, needed
