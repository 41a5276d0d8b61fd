"""Assemble the chat service: Socket.IO server beside a small FastAPI app for the probes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio
from chatbot_common.contract import now_iso
from chatbot_common.http import add_common_middleware, install_error_handlers, probes_router
from chatbot_common.ratelimit import RedisWindows
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from . import failover, files_api, recovery
from .accounts import Accounts, usage_record
from .admission import Admission
from .answer_run import AnswerPorts
from .early_refusal import AdmittingServer, BurstHold
from .emitter import DirectEmit, OrjsonCompat
from .history_client import HistoryClient, Json
from .live import RedisLive
from .llm_client import LlmClient
from .models_allowed import AllowedModels
from .namespace import ChatNamespace
from .pace import LoopLag, delta_interval, load_factor
from .protocol_guard import ProtocolGuard
from .ratelimit import ChatLimiter
from .redis_gate import RedisGate
from .redis_manager import ChatRedisManager
from .registry import AnswerRegistry
from .service import ChatService
from .settings import Settings
from .shared import LocalOnly, RedisShared, SharedAnswers
from .websocket_guard import WebSocketGuard

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Any:
    service = ChatService(settings=settings, secret=settings.secret(),
                          loop_lag=LoopLag(window=settings.admission_lag_window_ms / 1000))
    service.loop_lag.quiet = service.streaming_only
    service.loop_lag.ours = lambda: service.streaming_count() >= settings.admission_lag_min_answers
    service.admission = Admission(
        settings.max_active_answers,
        settings.admission_max_lag_ms / 1000,
        settings.answer_retry_after_seconds,
        service.loop_lag,
        settings.admission_lag_min_answers,
    )
    # One Redis client and one gate (bounded calls, one down flag, one probe, one gauge) for
    # the Socket.IO manager, the answers in flight and the rate limiter (redis_gate.py).
    gate = (
        RedisGate.from_url(settings.redis_url, settings.redis_op_timeout_ms / 1000,
                           backoff_cap=settings.redis_reconnect_max_ms / 1000)
        if settings.redis_url else None
    )
    service.limiter = ChatLimiter(
        events_per_second=settings.events_per_second,
        messages_per_minute=settings.messages_per_minute,
        tokens_per_day=settings.tokens_per_day,
        connections_per_user=settings.connections_per_user,
        messages_window=settings.messages_window_seconds,
        tokens_window=settings.tokens_window_seconds,
        shared_store=RedisWindows(client=gate.client, call=gate.call) if gate else None,
        guest_messages_per_day=settings.guest_messages_per_day,
        guest_tokens_per_day=settings.guest_tokens_per_day,
    )
    # With Redis, every replica's rooms get every emit: delivered here directly, published for
    # the other replicas with a bounded, self-healing Redis connection (redis_manager.py).
    manager: socketio.AsyncManager = (
        ChatRedisManager(gate, channel="chat-socketio")
        if gate is not None
        else DirectEmit()  # one encode per emit, no task per recipient (emitter.py)
    )
    origins = settings.origins
    if not origins:
        log.warning("no browser origin may connect: set PUBLIC_URL or ALLOWED_ORIGINS")
    sio = AdmittingServer(
        async_mode="asgi",
        client_manager=manager,
        # A callable: engine.io reads an empty list as "any origin".
        cors_allowed_origins="*" if origins == "*" else origins.__contains__,
        max_http_buffer_size=settings.max_payload_bytes,
        logger=False,
        engineio_logger=False,
        json=OrjsonCompat,
    )
    namespace = ChatNamespace(service)
    sio.register_namespace(namespace)
    sio.early, sio.started = namespace.refuse_early, namespace.answering_started
    sio.burst = BurstHold(settings.admission_burst_gap_ms / 1000,
                          settings.admission_burst_quiet_ms / 1000,
                          settings.admission_burst_hold_ms / 1000)
    guard = ProtocolGuard(sio, "/", settings.namespace_connect_timeout_seconds)

    async def emit(event: str, data: Json, room: str) -> None:
        await sio.emit(event, data, room=room)

    async def emit_local(event: str, data: Json, room: str) -> None:
        await sio.emit(event, data, room=room, ignore_queue=True)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        started = now_iso()
        service.history = HistoryClient(
            settings.history_service_url,
            settings.chat_token,
            settings.history_timeout_seconds,
            max_connections=settings.history_max_connections,
        )
        shared: SharedAnswers = LocalOnly()
        if gate is not None:
            service.live = RedisLive(gate, service.replica_id, settings.answer_lease_seconds)
            shared = RedisShared(service.live)
        service.accounts = Accounts(
            service.history, settings.account_cache_seconds, settings.connect_lookup_seconds
        )
        service.llm = LlmClient(
            settings.llm_service_url,
            settings.chat_token,
            settings.llm_connect_timeout_seconds,
            settings.llm_read_timeout_seconds,
            max_connections=settings.llm_max_connections,
        )
        service.models = AllowedModels(service.llm.models, settings.models_cache_seconds)
        lag = service.loop_lag
        base, bound = settings.delta_interval_ms / 1000, settings.delta_interval_max_ms / 1000
        ports = AnswerPorts(
            history=service.history,
            llm=service.llm,
            emit=emit,
            shared=shared,
            # with replicas, a delta is published by the Redis step that stores it
            publication=manager.publication if isinstance(manager, ChatRedisManager) else None,
            emit_local=emit_local,
            # The coalescing interval grows while the event loop lags (pace.py).
            interval=lambda: delta_interval(base, bound, lag.lag),
            # ... and the checkpoints thin out by the same factor (pace.checkpoint_interval).
            checkpoint_interval=settings.checkpoint_seconds,
            checkpoint_max=settings.checkpoint_max_seconds,
            load=lambda: load_factor(base, bound, lag.lag),
            on_usage=service.limiter.record_usage,
            on_finished=service.accounts.record_answer,
            usage_record=usage_record,  # stored with the answer's final update
        )
        service.answers = AnswerRegistry(
            ports, context_messages=settings.history_messages,
            takeover_mode=settings.takeover_mode,
        )
        service.loop_lag.start()
        _watch_sigterm(service)
        service.spawn(recovery.sweep(service.answers, started), "recovery-sweep")
        service.spawn(namespace.watch_expiry(settings.token_check_seconds), "token-expiry")
        if service.live is not None:
            lease = settings.answer_lease_seconds
            live, answers = service.live, service.answers
            service.spawn(failover.heartbeat(answers, live, lease / 3), "heartbeat")
            service.spawn(failover.take_over(answers, live, lease / 2), "take-over")
            service.spawn(
                failover.follow_control(answers, live, namespace.on_user_changed),
                "follow-control",
            )
            service.spawn(
                _report(namespace, live, settings.replica_report_seconds), "replica-report"
            )
        try:
            yield
        finally:
            service.draining = True
            guard.cancel()
            begun = service.term_at or time.monotonic()
            await service.answers.drain(begun + settings.shutdown_grace_seconds)
            for task in list(service.background):
                task.cancel()
            await service.loop_lag.stop()
            await service.llm.aclose()
            await service.history.aclose()
            await service.limiter.aclose()
            if isinstance(manager, ChatRedisManager):
                await manager.aclose()
            if gate is not None:
                await gate.aclose()

    api = FastAPI(
        title="chat service", lifespan=lifespan,
        docs_url=settings.docs_url,
        redoc_url=None,
        openapi_url=settings.openapi_url,
    )
    api.state.chat = service
    api.state.verifier = namespace.verifier
    # Files and imports come over HTTP (files_api.py): their bodies are larger than an event.
    add_common_middleware(api, settings.max_request_bytes, larger={
        "/v1/files": settings.max_file_bytes, "/v1/imports": settings.max_import_bytes})
    # Outermost: a refusal (413, 401) carries the CORS headers too, so the page can read it.
    api.add_middleware(
        CORSMiddleware,
        allow_origins=["*"] if origins == "*" else sorted(origins),
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
    api.include_router(probes_router(lambda: (service.ready,)))
    api.include_router(files_api.router)
    install_error_handlers(api)
    return WebSocketGuard(
        socketio.ASGIApp(sio, other_asgi_app=api), settings.namespace_connect_timeout_seconds
    )


async def _report(namespace: ChatNamespace, live: RedisLive, interval: float) -> None:
    """Publish this replica's live figures for the admin view (kept 3 intervals)."""
    while True:
        with contextlib.suppress(Exception):
            await live.report(namespace.admin.stats(), ttl=3 * interval)
        await asyncio.sleep(interval)


def _watch_sigterm(service: ChatService) -> None:
    """Turn not-ready as soon as SIGTERM arrives, then let the server's handler run.

    uvicorn restores its own handlers when it exits, so this wrapper lives only as long as
    the server does.
    """
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return

    def on_term(signum: int, frame: Any) -> None:
        service.draining = True
        service.term_at = service.term_at or time.monotonic()
        previous(signum, frame)

    # Outside the main thread (embedded in tests) there is nothing to wrap.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, on_term)
