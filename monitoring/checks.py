"""Checks shared by the monitoring tests: the PromQL of the dashboard and alerts.

- ``dashboard_queries()`` / ``alert_rules()``: every expression, where it comes from;
- ``concrete(expr)``: Grafana's variables replaced by values Prometheus accepts;
- ``promtool_parse(exprs)``: Prometheus's own parser (``promtool check rules`` on a generated
  rule file, since promtool 2.42 has no ``promql`` command) → {expression: error};
- ``metric_names(expr)``: the metric names an expression selects (a small lexer, run only on
  expressions the parser accepted).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DASHBOARD = HERE / "grafana_dashboard.json"
ALERTS = HERE / "alerts.yml"
ALERTS_TEST = HERE / "alerts_test.yml"
PROMETHEUS_CONFIG = HERE / "prometheus.yml"
RUNBOOK = HERE / "RUNBOOK.md"

GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "30s", "__range": "1h",
                     "namespace": ".*", "job": ".*"}

_KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan", "atan2",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*")


def load_dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def dashboard_queries(dashboard: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """``(panel title, expr)`` for every query of every panel."""
    dashboard = dashboard or load_dashboard()
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    return out


def alert_rules() -> list[dict[str, Any]]:
    """Every rule (recording and alerting) of alerts.yml."""
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in alert_rules() if "record" in rule}


def concrete(expr: str) -> str:
    """Replace Grafana's ``$__rate_interval``-style variables by concrete durations."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in GRAFANA_VARIABLES:
            raise ValueError(f"unknown Grafana variable ${name} in {expr!r}")
        return GRAFANA_VARIABLES[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def metric_names(expr: str) -> set[str]:
    """Metric names selected by a (valid) PromQL expression."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = _LABEL_LIST.sub(" ", text)  # by (...), on (...), group_left (...)
    names = set()
    for match in _IDENT.finditer(text):
        name = match.group(0)
        rest = text[match.end() :].lstrip()
        if name in _KEYWORDS or rest.startswith("("):  # functions and aggregations
            continue
        names.add(name)
    return names


def promtool_parse(exprs: list[str]) -> dict[str, str]:
    """Parse expressions with promtool; ``{expr: error}`` for those it rejects."""
    if _promtool_check(exprs) is None:  # one call for all; one per expression on failure
        return {}
    errors = {}
    for expr in exprs:
        error = _promtool_check([expr])
        if error is not None:
            errors[expr] = error
    return errors


def _promtool_check(exprs: list[str]) -> str | None:
    rules = [{"record": f"parse:check_{i}", "expr": expr} for i, expr in enumerate(exprs)]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump({"groups": [{"name": "parse", "rules": rules}]}, f)
        f.flush()
        proc = subprocess.run(
            ["promtool", "check", "rules", f.name], capture_output=True, text=True, check=False
        )
    return None if proc.returncode == 0 else (proc.stdout + proc.stderr).strip()
