"""Helpers of the security tests: an event loop in a thread (for hypothesis), a JWKS server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from tests.support.contract import ERROR_CODES

T = TypeVar("T")

CODES = ERROR_CODES


class LoopThread:
    """An asyncio loop of its own, so synchronous hypothesis tests can drive async clients."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class JwksServer:
    """Serves one JWKS document on loopback (``url``) and a discovery document naming it
    (issuer ``issuer``), in a thread; ``stop()`` ends it."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                if self.path == "/.well-known/openid-configuration":
                    # A discovery document naming this server as issuer (OIDC_ISSUER).
                    doc = json.dumps({
                        "issuer": outer.issuer,
                        "authorization_endpoint": outer.issuer + "/authorize",
                        "token_endpoint": outer.issuer + "/token",
                        "jwks_uri": outer.url,
                    }).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(doc)))
                    self.end_headers()
                    self.wfile.write(doc)
                    return
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.issuer + "/jwks.json"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


async def patient_call(client: Any, event: str, payload: Any, attempts: int = 20) -> Any:
    """``client.call`` that waits out ``rate_limited`` acks (``retry_after``) a few times."""
    for _ in range(attempts):
        ack = await client.call(event, payload)
        if ack["ok"] or ack["error"]["code"] != "rate_limited":
            return ack
        await asyncio.sleep(ack["error"]["retry_after"])
    raise AssertionError(f"{event}: rate limited for too long")


def error_code(ack: dict[str, Any]) -> str:
    assert ack.get("ok") is False, ack
    error = ack["error"]
    assert isinstance(error["message"], str) and error["message"], ack
    code: str = error["code"]
    return code
