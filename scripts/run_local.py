"""`make run`: start the four services locally and stop them all on Ctrl-C.

Embedded defaults only: history in SQLite under .data/, the built-in local model when no
LLM key is set, a generated AUTH_SECRET kept in .data/ so tokens survive a restart.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = [  # (module, port); started in this order, stopped in reverse
    ("history_service", 8083),
    ("llm_service", 8082),
    ("chat_service", 8081),
    ("ui_service", 8080),
]


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    state_dir = Path(os.environ.get("STATE_DIR", ROOT / ".data")).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    busy = [str(port) for _, port in SERVICES if port_busy(port)]
    if busy:
        print(f"ports already in use: {', '.join(busy)} (is `make run` already running?)")
        return 1
    env = {
        **os.environ,
        "STATE_DIR": str(state_dir),
        "PYTHONUNBUFFERED": "1",
        "HISTORY_SERVICE_URL": os.environ.get("HISTORY_SERVICE_URL", "http://127.0.0.1:8083"),
        "LLM_SERVICE_URL": os.environ.get("LLM_SERVICE_URL", "http://127.0.0.1:8082/v1"),
    }
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    stopping = False

    def stop_all(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nstopping…")
        for _name, p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, p in reversed(procs):
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    for module, port in SERVICES:
        # Each service logs JSON lines to stdout; they share this terminal.
        procs.append(
            (
                module,
                subprocess.Popen([sys.executable, "-m", module], env={**env, "PORT": str(port)}),
            )
        )
    print(
        "chat page: http://localhost:8080  (first start of the local model takes a while; "
        "Ctrl-C stops everything)"
    )
    while not stopping:
        for name, p in procs:
            if p.poll() is not None and not stopping:
                print(f"{name} exited with {p.returncode}; stopping the rest")
                stop_all()
                return 1
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
