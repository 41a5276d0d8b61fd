"""The LLM service's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Time to first token: from sub-second (fake/local) to slow hosted models.
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60)
# Between two tokens: typically 10-100 ms.
ITL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 5)

REQUESTS = Counter(
    "llm_requests_total",
    "Chat completion requests, by the upstream that ended them and how.",
    ["upstream", "model", "outcome"],
)
TIME_TO_FIRST_TOKEN = Histogram(
    "llm_time_to_first_token_seconds",
    "From sending a request upstream to its first content token.",
    ["upstream", "model"],
    buckets=TTFT_BUCKETS,
)
INTER_TOKEN_LATENCY = Histogram(
    "llm_inter_token_latency_seconds",
    "Time between two streamed content chunks (once per upstream read: its mean gap).",
    ["upstream", "model"],
    buckets=ITL_BUCKETS,
)
TOKENS = Counter(
    "llm_tokens_total",
    "Tokens used (as the upstream reported them, or estimated when it did not).",
    ["upstream", "model", "kind"],
)
UPSTREAM_ERRORS = Counter(
    "llm_upstream_errors_total",
    "Failed upstream attempts, by reason.",
    ["upstream", "reason"],
)
RETRIES = Counter("llm_retries_total", "Attempts repeated on the same upstream.", ["upstream"])
CIRCUIT_STATE = Gauge(
    "llm_circuit_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.", ["upstream"]
)
CONTEXT_TRIMMED = Counter(
    "llm_context_trimmed_messages_total",
    "Messages dropped from requests to fit the context budget.",
)
