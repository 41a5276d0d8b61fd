"""The charts' values reach the services' settings: the contract's variables wired, the
charts' defaults the services' own, new values parsed, bad ones refused at render."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from tests.charts_support import env_names, helm, pod_spec, render, tools, workloads

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


@pytest.mark.parametrize("service", sorted(CONTRACT_ENV))
def test_contract_variables_are_wired(
    rendered: dict[str, list[dict[str, Any]]], service: str
) -> None:
    standalone = env_names(rendered[f"{service}-service:default"], f"chatbot-{service}-service")
    umbrella = env_names(rendered["chatbot:default"], f"chatbot-{service}")
    assert CONTRACT_ENV[service] - {"REDIS_URL", "MONGODB_URI"} <= standalone
    assert CONTRACT_ENV[service] <= umbrella, CONTRACT_ENV[service] - umbrella
    assert not FORBIDDEN_ENV[service] & (standalone | umbrella)


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
