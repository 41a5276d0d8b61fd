"""Prometheus metrics of the history service."""

from __future__ import annotations

from chatbot_common.metrics import LATENCY_BUCKETS
from prometheus_client import Counter, Gauge, Histogram

OPERATION_DURATION = Histogram(
    "history_operation_duration_seconds",
    "Time of one store operation (retries included), by operation and store.",
    ["operation", "store"],
    buckets=LATENCY_BUCKETS,
)
MESSAGES_STORED = Counter(
    "history_messages_stored_total",
    "Messages newly stored (idempotent repeats not counted), by role.",
    ["role"],
)
STORE_UP = Gauge(
    "history_store_up",
    "1 while the store answers, 0 after it failed (set by operations and /readyz).",
    ["store"],
)
