"""The routes the ingress serves, through a real reverse proxy, against going direct.

Starts Debian's nginx on a loopback port with a generated config shaped like the ingress:
``/`` → UI service, ``/socket.io/`` → chat service with the websocket upgrade and client-IP
affinity (``ip_hash``), long read timeouts and no buffering. Measures latency and error rate of
the page, ``/config.json`` and ``/auth/guest`` and of Socket.IO conversations (connect, create,
send, first token, done) through the proxy and direct. With --base-url (a cluster's ingress)
it measures through that URL only.

    uv run python -m stress_tests.api_gateway_test --requests 2000 --conversations 50
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx

from stress_tests._harness import progress, running_stack, summary, write_result
from stress_tests._sio import RawSio, stream_answer
from tests.support.processes import Proc, free_port, start_process

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  upstream ui {{ server 127.0.0.1:{ui}; keepalive 32; }}
  upstream chat {{ ip_hash; server 127.0.0.1:{chat}; }}
  server {{
    listen 127.0.0.1:{port};
    location /socket.io/ {{
      proxy_pass http://chat;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_buffering off;
    }}
    location / {{
      proxy_pass http://ui;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
}}
"""


def start_nginx(tmp: Path, ui_port: int, chat_port: int) -> Proc:
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(CONFIG.format(tmp=tmp, ui=ui_port, chat=chat_port, port=port))
    return start_process("nginx", [NGINX, "-c", str(conf), "-e", str(tmp / "error.log"),
                                   "-p", str(tmp)], port=port, health_path="/healthz")


async def http_load(base: str, n: int, concurrency: int) -> dict[str, Any]:
    paths = [("GET", "/"), ("GET", "/config.json"), ("POST", "/auth/guest")]
    lat: dict[str, list[float]] = {p: [] for _, p in paths}
    errors: dict[str, int] = {p: 0 for _, p in paths}
    sem = asyncio.Semaphore(concurrency)
    bar = progress(n, f"HTTP {base}")
    async with httpx.AsyncClient(base_url=base, timeout=10,
                                 limits=httpx.Limits(max_connections=concurrency)) as http:
        async def one(i: int) -> None:
            method, path = paths[i % len(paths)]
            async with sem:
                t0 = time.perf_counter()
                try:
                    r = await http.request(method, path)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    lat[path].append((time.perf_counter() - t0) * 1000)
                else:
                    errors[path] += 1
                bar.update(1)

        await asyncio.gather(*(one(i) for i in range(n)))
    bar.close()
    total_err = sum(errors.values())
    return {"requests": n, "errors": total_err, "error_rate": round(total_err / n, 5) if n else 0,
            "latency_ms": {p: summary(v) for p, v in lat.items()}}


async def sio_load(base: str, chat_base: str, n: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        tokens = [(await http.post("/auth/guest")).json()["token"] for _ in range(n)]
    connect, ttft, total, errors = [], [], [], []

    async def one(token: str) -> None:
        t0 = time.perf_counter()
        try:
            sio = await RawSio(chat_base, token).connect()
        except Exception as exc:
            errors.append(f"connect: {exc}")
            return
        connect.append((time.perf_counter() - t0) * 1000)
        try:
            cid = (await sio.ok("conversation.create", {}))["conversation"]["id"]
            res = await stream_answer(sio, cid, "hello through the proxy", uuid.uuid4().hex)
            if res["done"] and res["done"]["status"] == "complete" and \
                    res["text"] == res["done"]["content"]:
                ttft.append(res["ttft"] * 1000)
                total.append(res["total"] * 1000)
            else:
                errors.append(f"answer: {res.get('error') or res['done']}")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            await sio.close()

    await asyncio.gather(*(one(t) for t in tokens))
    return {"conversations": n, "errors": len(errors), "error_examples": errors[:5],
            "connect_ms": summary(connect), "ttft_ms": summary(ttft), "answer_ms": summary(total)}


async def measure(base: str, chat_base: str, args: argparse.Namespace) -> dict[str, Any]:
    return {"http": await http_load(base, args.requests, args.concurrency),
            "socketio": await sio_load(base, chat_base, args.conversations)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--conversations", type=int, default=50)
    p.add_argument("--base-url", help="measure through this ingress URL instead")
    p.add_argument("--name", default="api_gateway_test")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.requests, args.conversations = 60, 3
    if args.base_url:
        base = args.base_url.rstrip("/")
        data = {"mode": "ingress", "base_url": base,
                "via_ingress": asyncio.run(measure(base, base, args))}
    else:
        upstream = {"FAKE_TTFT_MS": "20", "FAKE_TOKEN_MS": "2", "FAKE_TOKENS": "20"}
        with running_stack(upstream_env=upstream) as stack, \
                tempfile.TemporaryDirectory(prefix="nginx-") as tmp:
            proxy = start_nginx(Path(tmp), stack.ui.port, stack.chat.port)
            try:
                direct = asyncio.run(measure(stack.ui.url, stack.chat.url, args))
                via = asyncio.run(measure(proxy.url, proxy.url, args))
            finally:
                proxy.stop()
        data = {"mode": "local nginx", "proxy": NGINX, "direct": direct, "via_proxy": via}
        d, v = direct["http"]["latency_ms"]["/config.json"], via["http"]["latency_ms"][
            "/config.json"]
        data["added_ms_config_json_p50"] = (round(v["p50"] - d["p50"], 3)
                                            if v["p50"] is not None and d["p50"] is not None
                                            else None)
    data["config"] = {k: getattr(args, k) for k in ("requests", "concurrency", "conversations")}
    path = write_result(args.name, data)
    for label in ("direct", "via_proxy", "via_ingress"):
        if label in data:
            h, s = data[label]["http"], data[label]["socketio"]
            print(f"{label:>11}: HTTP errors {h['errors']}/{h['requests']}, /config.json p50 "
                  f"{h['latency_ms']['/config.json']['p50']} ms; Socket.IO errors {s['errors']}/"
                  f"{s['conversations']}, connect p50 {s['connect_ms']['p50']} ms, TTFT p50 "
                  f"{s['ttft_ms']['p50']} ms")
    print(f"results: {path}")
    return data


if __name__ == "__main__":
    main()
