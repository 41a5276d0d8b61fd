"""Refuse request bodies over a byte limit (``MAX_REQUEST_BYTES``) before they are read.

One middleware for every HTTP service: a declared ``Content-Length`` over the limit is answered
413 (``too_large``) at once; a chunked body is counted as it arrives and cut off at the limit.
A few routes (file uploads) have a larger limit of their own, by path prefix (``larger``).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import TooLargeError
from .http import ErrorBody, default_error_body, error_response


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        body: ErrorBody = default_error_body,
        larger: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body = body
        self.larger = dict(larger or {})

    def _refusal(self, limit: int) -> ASGIApp:
        error = TooLargeError(f"the request is larger than {limit} bytes", limit=limit)
        return error_response(error, self.body)

    def limit_of(self, path: str) -> int:
        for prefix, limit in self.larger.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope.get("path", ""))
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refusal(limit)(scope, receive, send)
            return
        received = 0
        answered = refused = False

        async def limited_receive() -> Message:
            # Past the limit: 413 goes out at once, and the app is told the client left (an
            # exception here would be turned into a 400 by the app's body parsing).
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not answered:
                        await self._refusal(limit)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if refused:
                return  # the 413 is the answer
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
