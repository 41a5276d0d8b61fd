"""Chat service configuration (environment variables only)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from chatbot_common.oidc import IdentitySettings
from chatbot_common.settings import local_secret
from pydantic import Field, field_validator

DEFAULT_ORIGINS = ("http://localhost:8080", "http://127.0.0.1:8080")


class Settings(IdentitySettings):
    port: int = Field(8081, validation_alias="PORT", ge=0, le=65535)
    auth_secret: str | None = Field(
        None,
        validation_alias="AUTH_SECRET",
        description="HS256 key of user tokens; unset = the generated local one in STATE_DIR",
    )
    llm_service_url: str = Field("http://127.0.0.1:8082/v1", validation_alias="LLM_SERVICE_URL")
    history_service_url: str = Field(
        "http://127.0.0.1:8083", validation_alias="HISTORY_SERVICE_URL"
    )
    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    redis_op_timeout_ms: float = Field(
        500.0,
        validation_alias="REDIS_OP_TIMEOUT_MS",
        gt=0,
        description="with REDIS_URL: longest wait on one Redis call (Socket.IO publish, answers "
        "in flight, shared rate limits); after a failure Redis counts as down and the replica "
        "serves its own clients without it (rate limits per process)",
    )
    redis_reconnect_max_ms: float = Field(
        2000.0,
        validation_alias="REDIS_RECONNECT_MAX_MS",
        gt=0,
        description="with REDIS_URL: longest pause between two checks that Redis is back "
        "(jittered back-off from 200 ms); the answers' records are restored when it is",
    )
    allowed_origins: str = Field(
        ",".join(DEFAULT_ORIGINS),
        validation_alias="ALLOWED_ORIGINS",
        description="comma-separated origins allowed to open Socket.IO; '' = the origin of "
        "PUBLIC_URL only (no browser at all without it); '*' allows any",
    )
    public_url: str | None = Field(
        None,
        validation_alias="PUBLIC_URL",
        pattern=r"^https?://[^/?#\s]+/?$",
        description="the page's public address; its origin is the one allowed when "
        "ALLOWED_ORIGINS is empty",
    )
    namespace_connect_timeout_seconds: float = Field(
        10.0,
        validation_alias="NAMESPACE_CONNECT_TIMEOUT_SECONDS",
        gt=0,
        description="a connection that has not joined the Socket.IO namespace (signed in) "
        "this long after it opened is closed",
    )
    max_ack_bytes: int = Field(
        256 * 1024,
        validation_alias="MAX_ACK_BYTES",
        ge=16 * 1024,
        description="byte budget of one ack's list (conversation.get messages, list and "
        "search conversations): fewer items than asked come back beyond it (at least one); "
        "clients page on from the last item",
    )
    models_cache_seconds: float = Field(
        30.0,
        validation_alias="MODELS_CACHE_SECONDS",
        ge=0,
        description="how long the LLM service's model list (the models a conversation may "
        "name) is reused before it is asked again",
    )
    max_content_chars: int = Field(32_000, validation_alias="MAX_CONTENT_CHARS", ge=1)
    max_title_chars: int = Field(200, validation_alias="MAX_TITLE_CHARS", ge=1)
    max_system_prompt_chars: int = Field(8_000, validation_alias="MAX_SYSTEM_PROMPT_CHARS", ge=0)
    max_payload_bytes: int = Field(1_000_000, validation_alias="MAX_PAYLOAD_BYTES", ge=1024)
    max_feedback_chars: int = Field(
        2_000, validation_alias="MAX_FEEDBACK_CHARS", ge=0,
        description="longest comment of message.feedback (too_large beyond)",
    )
    # Files and imports (HTTP, beside Socket.IO: their bodies are larger than one event).
    max_file_bytes: int = Field(
        10 << 20, validation_alias="MAX_FILE_BYTES", ge=1,
        description="largest file one may attach (413 too_large beyond, refused unread)",
    )
    max_files_per_message: int = Field(
        10, validation_alias="MAX_FILES_PER_MESSAGE", ge=0, le=100,
        description="files one message may name (invalid beyond)",
    )
    max_import_bytes: int = Field(
        64 << 20, validation_alias="MAX_IMPORT_BYTES", ge=1024,
        description="largest exported conversation (JSON, files inline) one may import",
    )
    # Sampling settings a conversation may choose, within the operator's bounds (invalid beyond).
    llm_max_tokens_cap: int = Field(
        4096, validation_alias="LLM_MAX_TOKENS_CAP", ge=1,
        description="the largest maximum answer length (tokens) a conversation may set",
    )
    llm_temperature_max: float = Field(
        2.0, validation_alias="LLM_TEMPERATURE_MAX", ge=0,
        description="the highest temperature a conversation may set (the lowest is 0)",
    )
    llm_top_p_min: float = Field(
        0.05, validation_alias="LLM_TOP_P_MIN", gt=0, le=1,
        description="the lowest top-p a conversation may set (the highest is 1)",
    )
    default_model: str | None = Field(
        None,
        validation_alias="DEFAULT_MODEL",
        description="model asked of the LLM service when a conversation names none",
    )
    history_messages: int = Field(
        50,
        validation_alias="CONTEXT_MESSAGES",
        ge=1,
        le=1000,
        description="how many recent messages are sent to the LLM service (it trims by tokens)",
    )
    delta_interval_ms: float = Field(
        50.0,
        validation_alias="DELTA_INTERVAL_MS",
        ge=0,
        description="tokens arriving within this interval are sent as one message.delta "
        "(the first delta of an answer goes at once); it grows while the event loop lags",
    )
    delta_interval_max_ms: float = Field(
        250.0,
        validation_alias="DELTA_INTERVAL_MAX_MS",
        ge=0,
        description="bound of the coalescing interval while the event loop lags (fewer, "
        "larger deltas cost less CPU per token when CPU is short)",
    )
    max_active_answers: int = Field(
        70,
        validation_alias="MAX_ACTIVE_ANSWERS",
        ge=1,
        description="answers this replica streams at once; beyond, message.send (edit, "
        "regenerate) is refused unavailable with retry_after before anything is stored",
    )
    admission_max_lag_ms: float = Field(
        100.0,
        validation_alias="ADMISSION_MAX_LAG_MS",
        gt=0,
        description="event-loop lag (sustained: smoothed over ADMISSION_LAG_WINDOW_MS) beyond "
        "which new answers are refused, so admitted answers keep pace",
    )
    admission_lag_window_ms: float = Field(
        2000.0,
        validation_alias="ADMISSION_LAG_WINDOW_MS",
        ge=0,
        description="wall time over which the lag guard smooths the event loop's lag: a burst "
        "of sends that stalls the loop for less than about this long does not refuse answers",
    )
    admission_lag_min_answers: int = Field(
        10,
        validation_alias="ADMISSION_LAG_MIN_ANSWERS",
        ge=0,
        description="the lag guard refuses only while at least this many answers stream here "
        "(below, the lag comes from elsewhere on the machine)",
    )
    admission_burst_gap_ms: float = Field(
        3.0,
        validation_alias="ADMISSION_BURST_GAP_MS",
        ge=0,
        description="answering sends decoded within this of each other are a burst: its "
        "admitted answers start once it has been read, after its refusals went out",
    )
    admission_burst_quiet_ms: float = Field(
        30.0,
        validation_alias="ADMISSION_BURST_QUIET_MS",
        ge=0,
        description="once a burst is seen, its admitted answers start after this long without "
        "an answering send (a burst's sends do not all come back to back)",
    )
    admission_burst_hold_ms: float = Field(
        200.0,
        validation_alias="ADMISSION_BURST_HOLD_MS",
        ge=0,
        description="the longest an admitted answer waits for a burst of sends to be read "
        "(0 = never waits)",
    )
    answer_retry_after_seconds: float = Field(
        2.0,
        validation_alias="ANSWER_RETRY_AFTER_SECONDS",
        gt=0,
        description="retry_after sent with a refused answering event (seconds)",
    )
    history_timeout_seconds: float = Field(10.0, validation_alias="HISTORY_TIMEOUT_SECONDS", gt=0)
    llm_connect_timeout_seconds: float = Field(
        10.0, validation_alias="LLM_CONNECT_TIMEOUT_SECONDS", gt=0
    )
    llm_read_timeout_seconds: float = Field(
        120.0,
        validation_alias="LLM_READ_TIMEOUT_SECONDS",
        gt=0,
        description="longest silence tolerated between two streamed chunks",
    )
    llm_max_connections: int = Field(
        1000,
        validation_alias="LLM_MAX_CONNECTIONS",
        ge=1,
        description="connections to the LLM service: one per answer in flight, so at least "
        "the answers this replica streams at once (more wait up to the connect timeout)",
    )
    history_max_connections: int = Field(
        1000,
        validation_alias="HISTORY_MAX_CONNECTIONS",
        ge=1,
        description="connections to the history service (requests beyond wait for a slot)",
    )
    title_chars: int = Field(60, validation_alias="AUTO_TITLE_CHARS", ge=10, le=200)
    checkpoint_seconds: float = Field(
        2.0,
        validation_alias="CHECKPOINT_SECONDS",
        ge=0,
        description="how often a streaming answer's text so far is saved to history (0: never)",
    )
    checkpoint_max_seconds: float = Field(
        10.0,
        validation_alias="CHECKPOINT_MAX_SECONDS",
        ge=0,
        description="bound of the checkpoint interval, which grows with the event loop's lag "
        "as the coalescing interval does (a crash under overload loses at most this much text)",
    )
    answer_lease_seconds: float = Field(
        6.0,
        validation_alias="ANSWER_LEASE_SECONDS",
        ge=1,
        description="with REDIS_URL: an answer whose replica stops renewing its lease this "
        "long is finished by another replica",
    )
    takeover_mode: Literal["continue", "interrupt"] = Field(
        "continue",
        validation_alias="TAKEOVER_MODE",
        description="with REDIS_URL: an answer whose replica died (or handed it over on "
        "SIGTERM) is continued by another replica (assistant prefill), or ended 'interrupted'",
    )
    token_check_seconds: float = Field(
        1.0,
        validation_alias="TOKEN_CHECK_SECONDS",
        gt=0,
        le=60,
        description="how often connections whose token expired unrenewed are closed",
    )
    account_cache_seconds: float = Field(
        30.0,
        validation_alias="ACCOUNT_CACHE_SECONDS",
        ge=0,
        description="how long a user's record (disabled, own token limit) is cached; an "
        "admin's change reaches every replica at once through Redis, this bounds the rest",
    )
    connect_lookup_seconds: float = Field(
        2.0,
        validation_alias="CONNECT_LOOKUP_SECONDS",
        gt=0,
        le=60,
        description="the most a connect waits for the user's record from history (disabled?); "
        "past it the cached record decides and the visit is recorded in the background",
    )
    replica_report_seconds: float = Field(
        5.0,
        validation_alias="REPLICA_REPORT_SECONDS",
        gt=0,
        description="with REDIS_URL: how often a replica publishes its live figures "
        "(connections, answers) for the admin view",
    )
    # Limits (rate_limited beyond, with retry_after); generous defaults, see docs/security.md.
    events_per_second: int = Field(20, validation_alias="RATE_EVENTS_PER_SECOND", ge=1)
    messages_per_minute: int = Field(30, validation_alias="RATE_MESSAGES_PER_MINUTE", ge=1)
    tokens_per_day: int = Field(200_000, validation_alias="RATE_TOKENS_PER_DAY", ge=1)
    connections_per_user: int = Field(20, validation_alias="MAX_CONNECTIONS_PER_USER", ge=1)
    messages_window_seconds: float = Field(
        60.0, validation_alias="RATE_MESSAGES_WINDOW_SECONDS", gt=0
    )
    tokens_window_seconds: float = Field(
        86_400.0, validation_alias="RATE_TOKENS_WINDOW_SECONDS", gt=0
    )
    # All guests together (guests are free to mint: per-user limits alone do not bound them).
    guest_messages_per_day: int = Field(
        20_000,
        validation_alias="GUEST_MESSAGES_PER_DAY",
        ge=1,
        description="messages (send, regenerate) of all guests together per day",
    )
    guest_tokens_per_day: int = Field(
        5_000_000,
        validation_alias="GUEST_TOKENS_PER_DAY",
        ge=1,
        description="prompt + completion tokens of all guests together per day",
    )

    @field_validator("allowed_origins")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @property
    def origins(self) -> frozenset[str] | str:
        """'*', or the browser origins allowed (never empty-means-any, as engine.io reads [])."""
        if self.allowed_origins == "*":
            return "*"
        listed = {o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()}
        if not listed and self.public_url:
            parts = urlsplit(self.public_url)
            listed = {f"{parts.scheme}://{parts.netloc}"}
        return frozenset(listed)

    def secret(self) -> str:
        return self.auth_secret or local_secret(self.state_dir)
