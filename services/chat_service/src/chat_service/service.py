"""What the Socket.IO handlers use: settings, the adapters and the answers in flight."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from .accounts import Accounts
from .admission import Admission, Refused
from .history_client import HistoryClient
from .live import RedisLive
from .llm_client import LlmClient
from .models_allowed import AllowedModels
from .pace import LoopLag
from .ratelimit import NoRateLimit, RateLimiter
from .registry import AnswerRegistry
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass
class ChatService:
    """Filled in by the app's lifespan (clients are created and closed there)."""

    settings: Settings
    secret: str
    limiter: RateLimiter = field(default_factory=NoRateLimit)
    history: HistoryClient | None = None
    llm: LlmClient | None = None
    answers: AnswerRegistry | None = None
    live: RedisLive | None = None
    models: AllowedModels | None = None
    accounts: Accounts | None = None
    replica_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    draining: bool = False
    term_at: float | None = None
    background: set[asyncio.Task[None]] = field(default_factory=set)
    loop_lag: LoopLag = field(default_factory=LoopLag)
    admission: Admission | None = None
    admitting_now: int = 0  # answers admitted whose start has not happened yet
    queued_answers: int = 0  # answering events let through as decoded, task not started yet
    handling_now: int = 0  # client events (connects included) being handled

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a small side job (title, sweep) holding a reference until it ends."""
        task = asyncio.create_task(coro, name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def accounts_forget(self, user_id: str) -> None:
        if self.accounts is not None:
            self.accounts.forget(user_id)

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        """A client event being handled (its own lag is not the streams', ``streaming_only``)."""
        self.handling_now += 1
        try:
            yield
        finally:
            self.handling_now -= 1

    def streaming_only(self) -> bool:
        """Is the loop's lag now the answers' (no client event being handled)? ``LoopLag``
        feeds admission's sustained figure only then."""
        return self.handling_now == 0

    def streaming_count(self) -> int:
        """Answers streaming on this replica now (0 before start)."""
        return 0 if self.answers is None else self.answers.count()

    def refusal(self, conversation_id: str | None) -> Refused | None:
        """Admission control for a new answer in ``conversation_id`` (None: admitted); an
        answer it replaces there does not count."""
        if self.admission is None or self.answers is None:
            return None
        replaced = conversation_id is not None and (
            self.answers.in_flight(conversation_id) is not None)
        return self.admission.refusal(
            self.answers.count() - replaced + self.admitting_now + self.queued_answers)

    @contextlib.contextmanager
    def admitted(self, conversation_id: str | None) -> Iterator[None]:
        """Admission for one answering event, decided before any I/O: refused, it raises
        ``Refused`` (counted; nothing stored, the client retries after ``retry_after``);
        admitted, the event holds its slot until its handler returns (its answer started by
        then), so a burst of sends cannot all pass before the first of them starts."""
        refused = self.refusal(conversation_id)
        if refused is not None:
            refused.count()
            raise refused
        self.admitting_now += 1
        try:
            yield
        finally:
            self.admitting_now -= 1

    def clients(self) -> tuple[HistoryClient, LlmClient, AnswerRegistry]:
        if self.history is None or self.llm is None or self.answers is None:
            raise RuntimeError("the chat service is not started")
        return self.history, self.llm, self.answers

    async def check_model(self, model: str | None) -> None:
        """Raise ``InvalidError`` unless ``model`` (when named) is one the LLM service offers."""
        if model is not None:
            if self.models is None:
                raise RuntimeError("the chat service is not started")
            await self.models.check(model)

    async def ready(self) -> bool:
        """Ready for new connections: not shutting down, and the history service (without
        which nothing is stored or acked) answers. Redis is not asked: while it is down this
        replica still serves its own clients (rooms and answers local, limits per process),
        and a Redis outage must not take every replica out of the Service at once."""
        if self.draining or self.history is None:
            return False
        return await self.history.ready()

    async def llm_ready(self) -> bool:
        return self.llm is not None and await self.llm.ready()
