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

from chatbot_common.settings import local_secret

ROOT = Path(__file__).resolve().parents[1]
SERVICES = [  # (module, port variable, default port); started in order, stopped in reverse
    ("history_service", "HISTORY_PORT", 8083),
    ("llm_service", "LLM_PORT", 8082),
    ("chat_service", "CHAT_PORT", 8081),
    ("ui_service", "UI_PORT", 8080),
]


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    state_dir = Path(os.environ.get("STATE_DIR", ROOT / ".data")).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = {module: int(os.environ.get(var, default)) for module, var, default in SERVICES}
    busy = [str(port) for port in ports.values() if port_busy(port)]
    if busy:
        print(f"ports already in use: {', '.join(busy)} (is `make run` already running?)")
        return 1
    env = {
        **os.environ,
        # The history and LLM services answer only the chat service (and the UI's model list),
        # even on loopback: a random internal token, kept with the rest of the local state.
        "INTERNAL_TOKEN": os.environ.get("INTERNAL_TOKEN")
        or local_secret(state_dir, "internal_token"),
        "STATE_DIR": str(state_dir),
        "PYTHONUNBUFFERED": "1",
        "HISTORY_SERVICE_URL": f"http://127.0.0.1:{ports['history_service']}",
        "LLM_SERVICE_URL": f"http://127.0.0.1:{ports['llm_service']}/v1",
        "CHAT_PUBLIC_PORT": str(ports["chat_service"]),
        # The page's address: the chat URL and the CSP derive from it (never from Host).
        "PUBLIC_URL": f"http://localhost:{ports['ui_service']}",
        "ALLOWED_ORIGINS": ",".join(
            f"http://{host}:{ports['ui_service']}" for host in ("localhost", "127.0.0.1")
        ),
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
    for module, port in ports.items():
        # Each service logs JSON lines to stdout; they share this terminal.
        procs.append(
            (
                module,
                subprocess.Popen([sys.executable, "-m", module], env={**env, "PORT": str(port)}),
            )
        )
    print(
        f"chat page: http://localhost:{ports['ui_service']}"
        "  (the local model's first start takes a while; Ctrl-C stops everything)"
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
