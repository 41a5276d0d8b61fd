"""Start real service processes on free loopback ports and stop them by PID."""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = REPO_ROOT / ".test-logs"


# Ports handed out are reserved for this process's life by a lock file each, so two test
# processes on one machine (two checkouts' suites, a benchmark beside a suite) never get the
# same port between choosing it and binding it. They come from below the kernel's ephemeral
# range, which bind(("", 0)) and outgoing connections draw from: nothing else takes them in
# that window either. (Seen: `make run`'s test found its port taken by another suite's server.)
PORT_LOCK_DIR = Path(tempfile.gettempdir()) / "chatbot-test-ports"
PORT_RESERVATIONS = 2000  # the oldest is released beyond this (long bound, or its server gone)
_reserved: OrderedDict[int, int] = OrderedDict()  # port -> the fd holding its lock
_pick = random.SystemRandom()  # not `random`: pytest-randomly reseeds it for every test


def _unreserved_range() -> range:
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    return range(10000, ephemeral_low) if ephemeral_low > 12000 else range(49152, 65536)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nothing listens on, reserved for this process (see above)."""
    PORT_LOCK_DIR.mkdir(mode=0o777, exist_ok=True)
    ports = _unreserved_range()
    for _ in range(500):
        port = _pick.choice(ports)
        if port in _reserved:
            continue
        fd = os.open(PORT_LOCK_DIR / str(port), os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another test process holds it
            os.close(fd)
            continue
        if not _bindable(port):
            os.close(fd)
            continue
        _reserved[port] = fd
        while len(_reserved) > PORT_RESERVATIONS:
            os.close(_reserved.popitem(last=False)[1])
        return port
    raise RuntimeError(f"no free loopback port in {ports} after 500 tries")


def wait_for_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


@dataclass
class Proc:
    """A started process; ``url`` is its base URL on loopback."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signal our own process and wait; SIGKILL if it does not exit in time."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def start_process(
    name: str,
    argv: list[str],
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    health_path: str | None = "/healthz",
    timeout: float = 180.0,  # a cold, busy 2-core machine imports slowly
) -> Proc:
    """Start ``argv`` with PORT set, wait until it answers, return the handle.

    Output goes to ``.test-logs/<name>-<port>.log``; the log is shown if start-up fails.
    """
    port = port or free_port()
    LOG_DIR.mkdir(exist_ok=True)
    log_path = LOG_DIR / f"{name}-{port}.log"
    full_env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
    full_env.update(env or {})
    log_file = log_path.open("wb")
    popen = subprocess.Popen(
        argv, cwd=cwd or REPO_ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT
    )
    log_file.close()
    proc = Proc(name, popen, port, log_path, dict(env or {}))
    try:
        _wait_ready(proc, health_path, timeout)
    except BaseException:
        proc.kill()
        raise
    return proc


def start_service(
    module: str, *, env: Mapping[str, str] | None = None, port: int | None = None,
    timeout: float = 180.0,  # a cold, busy 2-core machine imports slowly
) -> Proc:
    """Start ``python -m <module>`` (one of the four services) as a real process."""
    return start_process(
        module, [sys.executable, "-m", module], port=port, env=env, timeout=timeout
    )


def _wait_ready(proc: Proc, health_path: str | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log()}")
        try:
            if health_path is None:
                wait_for_port(proc.port, timeout=0.2)
                return
            r = httpx.get(proc.url + health_path, timeout=1.0)
            if r.status_code == 200:
                return
        except (httpx.HTTPError, TimeoutError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{proc.name} not healthy after {timeout}s:\n{proc.log()}")


@contextlib.contextmanager
def running(procs: list[Proc]) -> Iterator[list[Proc]]:
    try:
        yield procs
    finally:
        for p in reversed(procs):
            p.stop()
