"""CPU per request of the two HTTP clients the chat service could use for its history calls.

One uvicorn process on loopback answers every request with a small JSON object (what a
history call returns); this process sends ``--requests`` POSTs with a JSON body,
``--concurrency`` at a time, through httpx2 on its own transport (h11), through httpx2 on
``chatbot_common.paced.AiohttpTransport`` (as the LLM service's ``openai`` client) and through
aiohttp itself (as ``history_client.py`` does), and reports this process's CPU (user + system)
per request for each, after a warm-up.

    uv run python -m stress_tests.http_client_benchmark
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx2
import orjson
from chatbot_common.paced import AiohttpTransport

from stress_tests._harness import write_result
from tests.support.processes import start_process

APP = '''
import orjson
BODY = orjson.dumps({"message": {"id": "m1", "content": "x" * 200}, "conversation": {"id": "c"}})
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]})
    await send({"type": "http.response.body", "body": BODY})
'''

Call = Callable[[int], Awaitable[Any]]
PATH = "/v1/conversations/c{}/messages/m/finish"
BODY = {"message": {"content": "y" * 100}}


async def _measure(call: Call, n: int, concurrency: int) -> float:
    """CPU µs per call, ``concurrency`` at a time, after a warm-up."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await call(i)

    await asyncio.gather(*[one(i) for i in range(min(n, 200))])
    t = time.process_time()
    await asyncio.gather(*[one(i) for i in range(n)])
    return (time.process_time() - t) * 1e6 / n


async def _httpx(url: str, n: int, concurrency: int,
                 transport: httpx2.AsyncBaseTransport) -> float:
    async with httpx2.AsyncClient(base_url=url, transport=transport) as hx:

        async def httpx_call(i: int) -> Any:
            r = await hx.post(PATH.format(i), json=BODY, headers={"X-User-Id": "u"})
            return r.json()

        return await _measure(httpx_call, n, concurrency)


async def run(url: str, n: int, concurrency: int) -> dict[str, float]:
    limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=concurrency)
    httpx_us = await _httpx(url, n, concurrency, httpx2.AsyncHTTPTransport(limits=limits))
    on_aiohttp_us = await _httpx(url, n, concurrency, AiohttpTransport(limits))
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=1000)) as ah:

        async def aiohttp_call(i: int) -> Any:
            async with ah.post(PATH.format(i), data=orjson.dumps(BODY),
                               headers={"X-User-Id": "u",
                                        "Content-Type": "application/json"}) as r:
                return orjson.loads(await r.read())

        aiohttp_us = await _measure(aiohttp_call, n, concurrency)
    return {"httpx2_us_per_request": round(httpx_us, 1),
            "httpx2_on_aiohttp_us_per_request": round(on_aiohttp_us, 1),
            "aiohttp_us_per_request": round(aiohttp_us, 1),
            "ratio": round(httpx_us / aiohttp_us, 2)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=50)
    args = p.parse_args(argv)
    server = start_process("json-app", [sys.executable, "-c", APP + (
        "\nimport os, uvicorn\nuvicorn.run(app, host='127.0.0.1', port=int(os.environ['PORT']),"
        " log_level='warning', access_log=False)\n")], health_path="/")
    try:
        data = asyncio.run(run(server.url, args.requests, args.concurrency))
    finally:
        server.stop()
    data.update(requests=args.requests, concurrency=args.concurrency)
    print(f"httpx2 {data['httpx2_us_per_request']} CPU-us/request, httpx2 on aiohttp "
          f"{data['httpx2_on_aiohttp_us_per_request']}, aiohttp "
          f"{data['aiohttp_us_per_request']} ({data['ratio']}x); results: "
          f"{write_result('http_client_benchmark', data)}")
    return data


if __name__ == "__main__":
    main()
