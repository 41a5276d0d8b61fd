"""The LLM service's configuration: environment variables only."""

from __future__ import annotations

from pathlib import Path

from chatbot_common.settings import ServiceSettings
from pydantic import AliasChoices, BaseModel, Field, model_validator

DEFAULT_BASE_URL = "https://integrate.api.nvidia.com/v1"


class FallbackUpstream(BaseModel):
    """One entry of ``LLM_FALLBACKS``: another OpenAI-compatible upstream, tried in order."""

    base_url: str = Field(min_length=1)
    model: str = Field(min_length=1)
    api_key: str | None = None
    name: str | None = None


class LlmSettings(ServiceSettings):
    port: int = Field(8082, validation_alias="PORT", ge=0, le=65535)

    # The contract's variables.
    base_url: str = Field(DEFAULT_BASE_URL, validation_alias="LLM_BASE_URL")
    api_key: str | None = Field(
        None,
        validation_alias=AliasChoices("LLM_API_KEY", "NVIDIA_API_KEY"),
        description="upstream key; with none and the default base URL the local model answers",
    )
    model: str = Field("meta/llama-3.1-8b-instruct", validation_alias="LLM_MODEL")
    models: str = Field(
        "",
        validation_alias="LLM_MODELS",
        description="comma-separated further models of the primary upstream that requests "
        "may name (beside LLM_MODEL); any other model is refused (invalid)",
    )

    vision_models: str = Field(
        "",
        validation_alias="LLM_VISION_MODELS",
        description="comma-separated models (of those offered) that take images "
        "(image_url content parts); a request with images for any other is refused (invalid)",
    )

    # Ours.
    fallbacks: list[FallbackUpstream] = Field(
        default_factory=list,
        validation_alias="LLM_FALLBACKS",
        description='JSON list of {"base_url", "model", "api_key"?, "name"?}, tried in order',
    )
    connect_timeout: float = Field(5.0, validation_alias="LLM_CONNECT_TIMEOUT", gt=0)
    first_token_timeout: float = Field(
        60.0, validation_alias="LLM_FIRST_TOKEN_TIMEOUT", gt=0,
        description="seconds from sending a request to its first token, per attempt",
    )
    idle_timeout: float = Field(
        30.0, validation_alias="LLM_IDLE_TIMEOUT", gt=0,
        description="seconds allowed between two streamed chunks",
    )
    stream_read_interval_ms: float = Field(
        50.0, validation_alias="STREAM_READ_INTERVAL_MS", ge=0, le=1000,
        description="after an answer's first chunk, the upstream is read at most once per this "
        "interval: what arrived meanwhile is forwarded as one write (0: read as bytes arrive; "
        "at most a quarter of LLM_IDLE_TIMEOUT, which the wait counts towards)",
    )
    max_retries: int = Field(2, validation_alias="LLM_MAX_RETRIES", ge=0, le=10)
    retry_base_delay: float = Field(0.25, validation_alias="LLM_RETRY_BASE_DELAY", ge=0)
    retry_max_delay: float = Field(
        4.0, validation_alias="LLM_RETRY_MAX_DELAY", ge=0,
        description="cap of one back-off; a Retry-After longer than this is not waited for",
    )
    breaker_failures: int = Field(
        5, validation_alias="LLM_BREAKER_FAILURES", ge=1,
        description="consecutive failures that open an upstream's circuit",
    )
    breaker_reset_seconds: float = Field(
        30.0, validation_alias="LLM_BREAKER_RESET_SECONDS", gt=0,
        description="how long an open circuit stays open before one trial request",
    )
    context_tokens: int = Field(
        8192, validation_alias="LLM_CONTEXT_TOKENS", ge=256,
        description="token budget of prompt + completion; older turns are trimmed to fit",
    )
    max_tokens: int = Field(
        1024, validation_alias="LLM_MAX_TOKENS", ge=1,
        description="completion tokens when a request names none (also the most one may ask)",
    )
    upstream_max_connections: int = Field(
        1000, validation_alias="LLM_UPSTREAM_MAX_CONNECTIONS", ge=1,
        description="connections per upstream: one per answer in flight, so at least the "
        "answers this replica streams at once (more wait up to LLM_CONNECT_TIMEOUT)",
    )
    max_request_bytes: int = Field(
        48 << 20,
        validation_alias=AliasChoices("MAX_REQUEST_BYTES", "LLM_MAX_REQUEST_BYTES"),
        ge=1024,
        description="largest request body (413 too_large beyond, refused before it is read): "
        "a context carries its files' text and images (base64), so a few MAX_FILE_BYTES",
    )
    max_messages: int = Field(10_000, validation_alias="LLM_MAX_MESSAGES", ge=1)

    # The built-in local model.
    local_model: str = Field(
        "qwen2.5-0.5b", validation_alias="LLM_LOCAL_MODEL",
        description="qwen2.5-0.5b or qwen2.5-coder-1.5b",
    )
    local_threads: int = Field(2, validation_alias="LLM_LOCAL_THREADS", ge=1)
    local_context_tokens: int = Field(4096, validation_alias="LLM_LOCAL_CONTEXT_TOKENS", ge=512)
    local_wait_seconds: float = Field(
        60.0, validation_alias="LLM_LOCAL_WAIT_SECONDS", ge=0,
        description="how long a request waits for the local model to finish loading",
    )
    model_cache_dir: Path = Field(
        Path.home() / ".cache" / "chatbot" / "models", validation_alias="LLM_MODEL_CACHE_DIR"
    )
    system_prompt: str = Field(
        "You are a helpful assistant. Answer clearly and concisely.",
        validation_alias="LLM_DEFAULT_SYSTEM_PROMPT",
        description="sent when a request has no system message",
    )

    @model_validator(mode="after")
    def _check_local_model(self) -> LlmSettings:
        from .model_weights import LOCAL_MODELS

        if self.local_model not in LOCAL_MODELS:
            raise ValueError(f"LLM_LOCAL_MODEL must be one of {sorted(LOCAL_MODELS)}")
        return self

    @model_validator(mode="after")
    def _check_read_interval(self) -> LlmSettings:
        # The pacing wait counts towards the idle timer (it is part of the read): an interval
        # near LLM_IDLE_TIMEOUT would end healthy answers.
        if self.stream_read_interval_ms / 1000 > self.idle_timeout / 4:
            raise ValueError("STREAM_READ_INTERVAL_MS must be at most a quarter of "
                             "LLM_IDLE_TIMEOUT")
        return self

    @property
    def primary_models(self) -> list[str]:
        listed = [m.strip() for m in self.models.split(",") if m.strip()]
        return list(dict.fromkeys([self.model, *listed]))

    @property
    def vision(self) -> frozenset[str]:
        return frozenset(m.strip() for m in self.vision_models.split(",") if m.strip())

    @property
    def use_local_model(self) -> bool:
        """No key and the default base URL: the built-in local model answers."""
        return not self.api_key and self.base_url.rstrip("/") == DEFAULT_BASE_URL
