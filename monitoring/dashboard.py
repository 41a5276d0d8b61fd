"""Generate monitoring/grafana_dashboard.json, the on-call overview of the chatbot system.

Run ``uv run python monitoring/dashboard.py`` after editing the panels below; the tests check
that the committed JSON matches this file. Every panel and query uses the ``datasource``
template variable, so the JSON imports into any Grafana with a Prometheus data source (and the
umbrella chart ships it unchanged for kube-prometheus). The ``namespace`` and ``job`` variables
scope every query (the alerts aggregate by namespace; one Grafana may watch several releases);
"All" matches series without those labels too (``make monitor``'s local Prometheus).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

if __package__:
    from .checks import metric_names
else:  # run as a script: uv run python monitoring/dashboard.py
    from checks import metric_names

OUT = Path(__file__).with_name("grafana_dashboard.json")
DS = {"type": "prometheus", "uid": "${datasource}"}
RI = "$__rate_interval"
SERVER_ERRORS = 'outcome=~"unavailable|upstream_error"'
ANSWER_ERRORS = 'outcome=~"error|interrupted"'

Panel = dict[str, Any]


def q(expr: str, legend: str = "__auto") -> dict[str, Any]:
    return {"expr": expr, "legendFormat": legend}


def quantile(p: float, metric: str, by: str = "") -> str:
    labels = f"{by}, le" if by else "le"
    return f"histogram_quantile({p}, sum by ({labels}) (rate({metric}_bucket[{RI}])))"


def timeseries(
    title: str, targets: list[dict[str, Any]], unit: str, description: str, **opts: Any
) -> Panel:
    custom: dict[str, Any] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                              "showPoints": "never", "spanNulls": True}
    if opts.get("stacked"):
        custom["stacking"] = {"mode": "normal", "group": "A"}
    defaults: dict[str, Any] = {"unit": unit, "custom": custom}
    if "max" in opts:
        defaults["max"] = opts["max"]
    if "min" in opts:
        defaults["min"] = opts["min"]
    if "mappings" in opts:
        defaults["mappings"] = opts["mappings"]
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "_w": opts.get("w", 8),
    }


def stat(title: str, expr: str, unit: str, description: str, thresholds: list[Any]) -> Panel:
    steps = [{"color": "green", "value": None}] + [
        {"color": color, "value": value} for value, color in thresholds
    ]
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "targets": [q(expr, title)],
        "fieldConfig": {"defaults": {"unit": unit, "decimals": 2,
                                     "thresholds": {"mode": "absolute", "steps": steps}},
                        "overrides": []},
        "options": {"colorMode": "background", "graphMode": "area", "reduceOptions":
                    {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        "_w": 4,
        "_h": 4,
    }


CIRCUIT_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "closed", "color": "green"},
    "1": {"text": "half-open", "color": "orange"},
    "2": {"text": "open", "color": "red"},
}}]

ROWS: list[tuple[str, list[Panel]]] = [
    ("Overview", [
        stat("Chat events/s", f"sum(rate(chat_events_total[{RI}]))", "reqps",
             "Client events handled by every chat replica.", []),
        stat("Answers/s", f"sum(rate(chat_answers_total[{RI}]))", "reqps",
             "Answers finished, any outcome.", []),
        stat("Answer error ratio",
             f"sum(rate(chat_answers_total{{{ANSWER_ERRORS}}}[{RI}]))"
             f" / sum(rate(chat_answers_total[{RI}]))",
             "percentunit", "Answers ending error or interrupted; SLO 1%.",
             [(0.01, "orange"), (0.05, "red")]),
        stat("Time to first token p95", quantile(0.95, "chat_time_to_first_token_seconds"), "s",
             "From a sent message to its first delta, as users feel it; alert at 5 s.",
             [(2, "orange"), (5, "red")]),
        stat("Open connections", "sum(chat_connections)", "short",
             "Socket.IO connections over all chat replicas.", []),
        stat("Targets down", 'count(up{job=~"chatbot-.+"} == 0) or vector(0)', "short",
             "Service instances Prometheus cannot scrape.", [(1, "red")]),
    ]),
    ("Traffic", [
        timeseries("Chat events/s by event", [
            q(f"sum by (event) (rate(chat_events_total[{RI}]))", "{{event}}")],
            "reqps", "Socket.IO client events per second.", stacked=True),
        timeseries("Messages stored/s", [
            q(f"sum(rate(chat_messages_stored_total[{RI}]))", "user messages (chat)"),
            q(f"sum by (role) (rate(history_messages_stored_total[{RI}]))",
              "{{role}} (history)")],
            "reqps", "New messages: user messages accepted by chat, all roles stored by history."),
        timeseries("Answers/s by outcome", [
            q(f"sum by (outcome) (rate(chat_answers_total[{RI}]))", "{{outcome}}")],
            "reqps", "Finished answers: complete, stopped, error, interrupted.", stacked=True),
        timeseries("HTTP requests/s by service", [
            q(f"sum by (job) (rate(http_requests_total[{RI}]))", "{{job}}")],
            "reqps", "HTTP requests per service (probes and scrapes excluded)."),
        timeseries("Deltas emitted/s", [
            q(f"sum(rate(chat_deltas_emitted_total[{RI}]))", "message.delta")],
            "reqps", "message.delta events sent to clients."),
        timeseries("LLM requests/s", [
            q(f"sum by (upstream, model, outcome) (rate(llm_requests_total[{RI}]))",
              "{{upstream}} {{model}} {{outcome}}")],
            "reqps", "Chat completions by upstream, model and outcome."),
    ]),
    ("Latency", [
        timeseries("Time to first token: chat", [
            q(quantile(0.5, "chat_time_to_first_token_seconds"), "p50"),
            q(quantile(0.95, "chat_time_to_first_token_seconds"), "p95")],
            "s", "From starting an answer to its first delta (includes the LLM service)."),
        timeseries("Time to first token: LLM by upstream/model", [
            q(quantile(0.5, "llm_time_to_first_token_seconds", "upstream, model"),
              "p50 {{upstream}} {{model}}"),
            q(quantile(0.95, "llm_time_to_first_token_seconds", "upstream, model"),
              "p95 {{upstream}} {{model}}")],
            "s", "Upstream's own time to first token, as measured by the LLM service."),
        timeseries("Inter-token latency", [
            q(quantile(0.5, "chat_inter_token_latency_seconds"), "p50 chat"),
            q(quantile(0.95, "chat_inter_token_latency_seconds"), "p95 chat"),
            q(quantile(0.95, "llm_inter_token_latency_seconds", "upstream, model"),
              "p95 llm {{upstream}} {{model}}")],
            "s", "Time between consecutive chunks of a streamed answer."),
        timeseries("HTTP p95 per route", [
            q(quantile(0.95, "http_request_duration_seconds", "job, method, route"),
              "{{job}} {{method}} {{route}}")],
            "s", "95th percentile of HTTP handling time per route template.", w=12),
        timeseries("History store operations p95", [
            q(quantile(0.95, "history_operation_duration_seconds", "operation, store"),
              "{{store}} {{operation}}")],
            "s", "Store operation time, retries included.", w=12),
        timeseries("Chat event ack p95", [
            q(quantile(0.95, "chat_event_duration_seconds", "event"), "{{event}}")],
            "s", "From a client event to its ack.", w=24),
    ]),
    ("Errors", [
        timeseries("Error ratios", [
            q(f"sum(rate(chat_events_total{{{SERVER_ERRORS}}}[{RI}]))"
              f" / sum(rate(chat_events_total[{RI}]))", "chat events (server errors)"),
            q(f"sum(rate(chat_answers_total{{{ANSWER_ERRORS}}}[{RI}]))"
              f" / sum(rate(chat_answers_total[{RI}]))", "answers (error/interrupted)"),
            q(f'sum by (job) (rate(http_requests_total{{status=~"5.."}}[{RI}]))'
              f" / sum by (job) (rate(http_requests_total[{RI}]))", "HTTP 5xx {{job}}")],
            "percentunit", "Share of failures; the SLOs allow 1% for events and answers.",
            min=0),
        timeseries("Chat event failures/s by code", [
            q(f'sum by (event, outcome) (rate(chat_events_total{{outcome!="ok"}}[{RI}]))',
              "{{event}} {{outcome}}")],
            "reqps", "Error acks by event and code (client mistakes included)."),
        timeseries("Upstream errors and retries/s", [
            q(f"sum by (upstream, reason) (rate(llm_upstream_errors_total[{RI}]))",
              "error {{upstream}} {{reason}}"),
            q(f"sum by (upstream) (rate(llm_retries_total[{RI}]))", "retry {{upstream}}")],
            "reqps", "Failed upstream attempts by reason, and retries the LLM service made."),
    ]),
    ("Saturation", [
        timeseries("Connections and answers in flight", [
            q("sum(chat_connections)", "connections"),
            q("sum(chat_answers_in_flight)", "answers in flight")],
            "short", "Open Socket.IO connections and answers streaming right now.", w=6),
        timeseries("Circuit breaker state", [
            q("max by (upstream) (llm_circuit_state)", "{{upstream}}")],
            "short", "0 closed, 1 half-open, 2 open (calls to the upstream stopped).",
            min=0, max=2, mappings=CIRCUIT_MAPPINGS, w=6),
        timeseries("History store up", [
            q("min by (store) (history_store_up)", "{{store}}")],
            "short", "1 while the store answers; 0 means messages cannot be stored.",
            min=0, max=1, w=6),
        timeseries("Targets up", [
            q('sum by (job) (up{job=~"chatbot-.+"})', "{{job}}")],
            "short", "Scraped instances answering per service.", min=0, w=6),
    ]),
    ("Tokens", [
        timeseries("Tokens/s in and out", [
            q(f'sum by (upstream, model) (rate(llm_tokens_total{{kind="prompt"}}[{RI}]))',
              "in (prompt) {{upstream}} {{model}}"),
            q(f'sum by (upstream, model) (rate(llm_tokens_total{{kind="completion"}}[{RI}]))',
              "out (completion) {{upstream}} {{model}}")],
            "short", "Prompt tokens sent to and completion tokens received from upstreams.",
            w=16),
        timeseries("Context trimmed messages/s", [
            q(f"sum(rate(llm_context_trimmed_messages_total[{RI}]))", "trimmed")],
            "short", "History messages dropped to fit the model's token budget."),
    ]),
]


SCOPE = 'namespace=~"$namespace", job=~"$job"'


def scoped(expr: str) -> str:
    """``expr`` with every selector limited to the dashboard's namespace and job variables."""

    def add(match: re.Match[str]) -> str:
        inner = (match.group(2) or "{}")[1:-1]
        return f"{match.group(1)}{{{inner + ', ' if inner else ''}{SCOPE}}}"

    for name in metric_names(expr.replace("$__rate_interval", "1m")):
        expr = re.sub(rf'(?<![\w"])({name})\b(?!\s*\()(\{{[^}}]*\}})?', add, expr)
    return expr


def variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": f"{name}-values"}, "definition": query,
            "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "sort": 1, "hide": 0, "options": [], "regex": ""}


def layout() -> list[Panel]:
    """Place the rows' panels on Grafana's 24-column grid with stable ids."""
    panels: list[Panel] = []
    y = 0
    next_id = 1
    for title, row_panels in ROWS:
        panels.append({"type": "row", "title": title, "id": next_id, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        next_id += 1
        y += 1
        x = 0
        row_h = 0
        for panel in row_panels:
            w, h = panel.pop("_w"), panel.pop("_h", 8)
            if x + w > 24:
                x, y, row_h = 0, y + row_h, 0
            refs = iter("ABCDEFGH")
            for target in panel["targets"]:
                target.update(datasource=DS, refId=next(refs), expr=scoped(target["expr"]))
            panels.append({"id": next_id, "datasource": DS,
                           "gridPos": {"h": h, "w": w, "x": x, "y": y}, **panel})
            next_id += 1
            x += w
            row_h = max(row_h, h)
        y += row_h
    return panels


def dashboard() -> dict[str, Any]:
    return {
        "uid": "chatbot-overview",
        "title": "Chatbot overview",
        "description": "Traffic, latency, errors, saturation and tokens of the chatbot "
                       "services (ui, chat, llm, history).",
        "tags": ["chatbot"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "timezone": "browser",
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": [{
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "options": [],
        },
            variable("namespace", "Namespace", 'label_values(up{job=~"chatbot-.+"}, namespace)'),
            variable("job", "Job",
                     'label_values(up{job=~"chatbot-.+", namespace=~"$namespace"}, job)'),
        ]},
        "panels": layout(),
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
