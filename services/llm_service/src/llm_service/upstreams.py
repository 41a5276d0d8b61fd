"""The ordered chain of OpenAI-compatible upstreams: one AsyncOpenAI client and breaker each."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx2
from chatbot_common.paced import AiohttpTransport
from openai import AsyncOpenAI, DefaultAsyncHttpxClient, Timeout

from . import metrics
from .breaker import CircuitBreaker, CircuitState
from .settings import LlmSettings

# Sent when an upstream needs no key (a local server): the client insists on one.
_NO_KEY = "no-key"


@dataclass
class Upstream:
    """One upstream. A requested model among ``models`` is forwarded (else ``model`` is used)."""

    name: str
    base_url: str
    model: str
    client: AsyncOpenAI
    breaker: CircuitBreaker
    models: tuple[str, ...] = ()
    context_tokens: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def model_for(self, requested: str | None) -> str:
        return requested if requested in self.models else self.model

    def model_label(self, model: str) -> str:
        """The metrics' ``model`` label: clients choose models, so only ours is named."""
        return model if model == self.model else "other"

    async def aclose(self) -> None:
        await self.client.close()


def _name_of(base_url: str, taken: set[str]) -> str:
    host = urlsplit(base_url).netloc or base_url
    name, n = host, 2
    while name in taken:
        name, n = f"{host}#{n}", n + 1
    taken.add(name)
    return name


def make_upstream(
    settings: LlmSettings,
    *,
    base_url: str,
    model: str,
    api_key: str | None,
    name: str,
    models: tuple[str, ...] = (),
    context_tokens: int | None = None,
) -> Upstream:
    timeout = Timeout(
        connect=settings.connect_timeout,
        read=max(settings.idle_timeout, settings.first_token_timeout),
        write=settings.connect_timeout + 10,
        # A stream holds its connection for the whole answer; waiting for a free one counts
        # as connecting (and is also bounded by LLM_FIRST_TOKEN_TIMEOUT).
        pool=settings.connect_timeout,
    )
    client = AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or _NO_KEY,
        max_retries=0,  # the gateway retries itself, only before the first token
        timeout=timeout,
        http_client=DefaultAsyncHttpxClient(
            timeout=timeout,
            # aiohttp underneath, and paced reads once an answer streams
            # (STREAM_READ_INTERVAL_MS, chatbot_common.paced)
            # (idle connections close after 4 s: paced.KEEPALIVE_SECONDS)
            transport=AiohttpTransport(httpx2.Limits(
                max_connections=settings.upstream_max_connections)),
        ),
    )
    gauge = metrics.CIRCUIT_STATE.labels(name)
    breaker = CircuitBreaker(
        settings.breaker_failures,
        settings.breaker_reset_seconds,
        on_change=lambda state: gauge.set(int(state)),
    )
    gauge.set(int(CircuitState.CLOSED))
    return Upstream(name, base_url, model, client, breaker, models, context_tokens)


def configured_upstreams(settings: LlmSettings) -> list[Upstream]:
    """The primary upstream (unless the local model replaces it) then ``LLM_FALLBACKS``."""
    taken: set[str] = set()
    chain: list[Upstream] = []
    if not settings.use_local_model:
        chain.append(
            make_upstream(
                settings,
                base_url=settings.base_url,
                model=settings.model,
                api_key=settings.api_key,
                name=_name_of(settings.base_url, taken),
                models=tuple(settings.primary_models),
            )
        )
    for fb in settings.fallbacks:
        chain.append(
            make_upstream(
                settings,
                base_url=fb.base_url,
                model=fb.model,
                api_key=fb.api_key,
                name=fb.name or _name_of(fb.base_url, taken),
            )
        )
    return chain


def offered_models(settings: LlmSettings) -> list[str]:
    """The models a request may name (``/v1/models``), the default first: the local model or
    the primary upstream's ``LLM_MODEL`` + ``LLM_MODELS``, then each fallback's model."""
    from .model_weights import LOCAL_MODELS

    if settings.use_local_model:
        first = [LOCAL_MODELS[settings.local_model].model_id]
    else:
        first = settings.primary_models
    return list(dict.fromkeys([*first, *(fb.model for fb in settings.fallbacks)]))
