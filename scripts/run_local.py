"""`make run`: start the four services locally and stop them all on Ctrl-C.

Embedded defaults only: history in SQLite under .data/, the built-in local model when no
LLM key is set, a generated AUTH_SECRET kept in .data/ so tokens survive a restart. The page's
URL is printed once every service answers /readyz (the local model loaded), so a question
typed at once is answered. The services log one readable, coloured line per event
(LOG_FORMAT=console; LOG_FORMAT=json gives the containers' JSON lines).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from chatbot_common.settings import local_secret

ROOT = Path(__file__).resolve().parents[1]
SERVICES = [  # (module, port variable, default port); started in order, stopped in reverse
    ("history_service", "HISTORY_PORT", 8083),
    ("llm_service", "LLM_PORT", 8082),
    ("chat_service", "CHAT_PORT", 8081),
    ("ui_service", "UI_PORT", 8080),
]
# One internal token per caller (as in the charts), each service given only those it needs:
# the chat service's is accepted by the history and LLM services, the UI's by the LLM
# service's model list only.
TOKENS = {
    "history_service": ("CHAT_INTERNAL_TOKEN",),
    "llm_service": ("CHAT_INTERNAL_TOKEN", "UI_INTERNAL_TOKEN"),
    "chat_service": ("CHAT_INTERNAL_TOKEN",),
    "ui_service": ("UI_INTERNAL_TOKEN",),
}


def internal_tokens(state_dir: Path) -> dict[str, str]:
    """Each caller's token: from the environment, else generated once into ``state_dir``."""
    names = {name for needed in TOKENS.values() for name in needed}
    return {
        name: os.environ.get(name) or local_secret(state_dir, name.lower()) for name in names
    }


# How long the services may take to become ready (the first start joins and loads the model).
READY_TIMEOUT = float(os.environ.get("MAKE_RUN_READY_TIMEOUT", "900"))


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def service_env(state_dir: Path, ports: dict[str, int], tokens: dict[str, str]) -> dict[str, str]:
    """The environment every service starts with (each adds its port and tokens)."""
    return {
        **{k: v for k, v in os.environ.items() if k not in tokens},
        "STATE_DIR": str(state_dir),
        "PYTHONUNBUFFERED": "1",
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "console"),
        "HISTORY_SERVICE_URL": f"http://127.0.0.1:{ports['history_service']}",
        "LLM_SERVICE_URL": f"http://127.0.0.1:{ports['llm_service']}/v1",
        "CHAT_PUBLIC_PORT": str(ports["chat_service"]),
        # The page's address: the chat URL and the CSP derive from it (never from Host).
        "PUBLIC_URL": f"http://localhost:{ports['ui_service']}",
        "ALLOWED_ORIGINS": ",".join(
            f"http://{host}:{ports['ui_service']}" for host in ("localhost", "127.0.0.1")
        ),
    }


class Supervisor:
    """The started services, stopped together: on Ctrl-C, SIGTERM or one of them exiting."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopping = False

    def start(self, module: str, env: dict[str, str]) -> None:
        # The services share this terminal: one readable line per event (LOG_FORMAT).
        self.procs.append((module, subprocess.Popen([sys.executable, "-m", module], env=env)))

    def stop_all(self, *_: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        print("\nstopping…")
        for _name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, p in reversed(self.procs):
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()

    def exited(self) -> str | None:
        for name, p in self.procs:
            if p.poll() is not None and not self.stopping:
                return f"{name} exited with {p.returncode}"
        return None

    def failed(self) -> bool:
        """True (everything stopped) when a service has exited."""
        why = self.exited()
        if why is not None:
            print(f"{why}; stopping the rest")
            self.stop_all()
        return why is not None

    def wait_ready(self, ports: dict[str, int], started: float) -> bool:
        """Wait until every service answers /readyz; False (everything stopped) on failure."""
        said = 0.0
        waiting = list(ports)
        while waiting and not self.stopping:
            if self.failed():
                return False
            waiting = [m for m in waiting if not ready(ports[m])]
            elapsed = time.monotonic() - started
            if waiting and elapsed > READY_TIMEOUT:
                print(f"not ready after {READY_TIMEOUT:.0f} s: {', '.join(waiting)}; stopping")
                self.stop_all()
                return False
            if waiting and elapsed - said >= 15:
                said = elapsed
                print(f"waiting for {', '.join(waiting)} to be ready ({elapsed:.0f} s)…")
            time.sleep(0.3)
        return True

    def watch(self) -> int:
        """Until Ctrl-C (0) or a service exits (1)."""
        while not self.stopping:
            if self.failed():
                return 1
            time.sleep(0.5)
        return 0


def main() -> int:
    state_dir = Path(os.environ.get("STATE_DIR", ROOT / ".data")).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = {module: int(os.environ.get(var, default)) for module, var, default in SERVICES}
    busy = [str(port) for port in ports.values() if port_busy(port)]
    if busy:
        print(f"ports already in use: {', '.join(busy)} (is `make run` already running?)")
        return 1
    # The history and LLM services answer only their callers, even on loopback: random tokens,
    # kept with the rest of the local state (mode 0600).
    tokens = internal_tokens(state_dir)
    env = service_env(state_dir, ports, tokens)
    services = Supervisor()
    signal.signal(signal.SIGINT, services.stop_all)
    signal.signal(signal.SIGTERM, services.stop_all)
    for module, port in ports.items():
        services.start(module, {**env, "PORT": str(port), **{t: tokens[t] for t in TOKENS[module]}})
    # Ready first, then the URL: every service answers /readyz (the LLM service once its
    # model is loaded), so a question typed at once is answered.
    started = time.monotonic()
    if not services.wait_ready(ports, started):
        return 1
    if not services.stopping:
        print(
            f"\nchat page: http://localhost:{ports['ui_service']}"
            f"  (ready in {time.monotonic() - started:.0f} s; Ctrl-C stops everything)\n",
            flush=True,
        )
    return services.watch()


if __name__ == "__main__":
    sys.exit(main())
