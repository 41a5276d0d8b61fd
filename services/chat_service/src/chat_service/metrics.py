"""Prometheus metrics of the chat service."""

from __future__ import annotations

from chatbot_common.metrics import LATENCY_BUCKETS
from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("chat_connections", "Socket.IO connections open on this replica.")
EVENTS = Counter(
    "chat_events_total", "Client events handled, by event and outcome code.", ["event", "outcome"]
)
EVENT_DURATION = Histogram(
    "chat_event_duration_seconds",
    "Time from receiving a client event to its ack.",
    ["event"],
    buckets=LATENCY_BUCKETS,
)
ANSWERS = Counter("chat_answers_total", "Answers finished, by final status.", ["outcome"])
ANSWERS_IN_FLIGHT = Gauge("chat_answers_in_flight", "Answers streaming on this replica.")
TIME_TO_FIRST_TOKEN = Histogram(
    "chat_time_to_first_token_seconds",
    "From starting an answer to its first delta.",
    buckets=LATENCY_BUCKETS,
)
INTER_TOKEN = Histogram(
    "chat_inter_token_latency_seconds",
    "Time between two consecutive reads from the LLM service that carried text.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
MESSAGES_STORED = Counter("chat_messages_stored_total", "User messages newly stored.")
FEEDBACK = Counter(
    "chat_feedback_total",
    "Feedback on answers (message.feedback), by the answer's model and rating (good, bad,"
    " none: taken back).",
    ["model", "rating"],
)
DELTAS = Counter("chat_deltas_emitted_total", "message.delta events emitted.")
PROTOCOL_REFUSALS = Counter(
    "chat_protocol_refusals_total",
    "Connections closed by the protocol guard, by reason (binary, no_namespace).",
    ["reason"],
)
LOOP_LAG = Gauge(
    "chat_event_loop_lag_seconds", "How late this replica's event loop runs (smoothed)."
)
LOOP_LAG_SUSTAINED = Gauge(
    "chat_event_loop_lag_sustained_seconds",
    "The event loop's lag smoothed over ADMISSION_LAG_WINDOW_MS (what admission control judges).",
)
ANSWERS_REFUSED = Counter(
    "chat_answers_refused_total",
    "Answering events refused by admission control (nothing stored), by reason.",
    ["reason"],
)
