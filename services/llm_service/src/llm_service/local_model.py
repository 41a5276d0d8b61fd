"""The built-in local model: llama.cpp (xllamacpp) serving a small GGUF model on loopback.

Started from the app's lifespan in a worker thread (assembling the weights and loading them
takes seconds), so the event loop keeps answering probes; ``/readyz`` says 503 until the model
is loaded. The gateway then reaches it like any other upstream, through AsyncOpenAI.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from .model_weights import LOCAL_MODELS, LocalModelSpec, assemble
from .settings import LlmSettings

log = logging.getLogger(__name__)


class LocalModel:
    def __init__(self, settings: LlmSettings) -> None:
        self.settings = settings
        self.spec: LocalModelSpec = LOCAL_MODELS[settings.local_model]
        self.base_url: str | None = None
        self.error: str | None = None
        self.load_seconds: float | None = None
        self._server: Any = None  # xllamacpp.Server: keep the reference or it stops

    @property
    def ready(self) -> bool:
        return self.base_url is not None

    @property
    def context_tokens(self) -> int:
        return self.settings.local_context_tokens

    def status(self) -> str:
        if self.error:
            return f"the local model failed to start: {self.error}"
        return "the local model is still loading"

    async def start(self) -> str:
        """Assemble and load the model; return its OpenAI base URL. Raises on failure."""
        try:
            self.base_url = await asyncio.to_thread(self._start_blocking)
        except Exception as exc:
            self.error = str(exc) or type(exc).__name__
            log.exception("local model failed to start", extra={"model": self.spec.model_id})
            raise
        return self.base_url

    def _start_blocking(self) -> str:
        import xllamacpp  # imported here: only needed (and installed) for the local model

        started = time.perf_counter()
        path = assemble(self.spec, self.settings.model_cache_dir)
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.model_alias = {self.spec.model_id}
        params.n_ctx = self.settings.local_context_tokens
        params.n_parallel = 1
        params.cpuparams.n_threads = self.settings.local_threads
        params.cpuparams_batch.n_threads = self.settings.local_threads
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        self._server = xllamacpp.Server(params)
        address = str(self._server.listening_address)
        if not address.startswith("http"):
            address = f"http://{address}"
        self.load_seconds = time.perf_counter() - started
        log.info(
            "local model ready",
            extra={"model": self.spec.model_id, "address": address,
                   "load_seconds": round(self.load_seconds, 2)},
        )
        return f"{address}/v1"

    async def stop(self) -> None:
        holder = [self._server] if self._server is not None else []
        self._server = None
        self.base_url = None
        if holder:
            # Dropping the last reference runs the destructor, which waits for llama.cpp's
            # main loop to exit: do that in a worker thread, not on the event loop.
            await asyncio.to_thread(holder.clear)
