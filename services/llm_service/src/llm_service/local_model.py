"""The built-in local model: llama.cpp (xllamacpp) serving a small GGUF model on loopback.

Started from the app's lifespan in a worker thread (assembling the weights and loading them
takes seconds), so the event loop keeps answering probes; ``/readyz`` says 503 until the model
is loaded. The gateway then reaches it like any other upstream, through AsyncOpenAI.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from typing import Any

from chatbot_common.errors import UnavailableError

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
        self._settled = asyncio.Event()  # set once loaded or failed

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
            # Imported here, on the event loop's thread (~0.1 s, once): imported from the
            # worker thread, the extension then held the GIL for the whole model load.
            try:
                xllamacpp = importlib.import_module("xllamacpp")
            except ImportError as exc:
                raise UnavailableError(
                    "xllamacpp is not installed: install the 'local-model' dependency group "
                    "(uv sync --all-packages --group local-model) or set LLM_API_KEY"
                ) from exc
            self.base_url = await asyncio.to_thread(self._start_blocking, xllamacpp)
        except Exception as exc:
            self.error = str(exc) or type(exc).__name__
            log.exception("local model failed to start", extra={"model": self.spec.model_id})
            raise
        finally:
            self._settled.set()
        return self.base_url

    async def wait_loaded(self, limit_seconds: float) -> None:
        """Wait until the model is loaded (or failed), at most ``limit_seconds``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit_seconds):
                await self._settled.wait()

    def _start_blocking(self, xllamacpp: Any) -> str:
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
