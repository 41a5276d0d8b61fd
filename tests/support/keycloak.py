"""A real OpenID Connect provider for the tests: Keycloak in dev mode on loopback.

``scripts/keycloak.sh ensure`` (the ``keycloak`` step of ``scripts/test-prereqs.sh``, run by
``make test``) fetches it from Maven Central into
``~/.cache/chatbot/keycloak/<version>``. The realm ``chatbot`` (``keycloak/chatbot-realm.json``)
has a public PKCE client ``chatbot``, a confidential one ``chatbot-confidential``, realm roles
``chat-admin`` and ``chat-user`` (also in the ID token, ``realm_access.roles``), an admin user
``alice`` and plain users ``bob``, ``carol`` and ``dave``; tokens live 60 s.

Started once per test session (``tests/conftest.py``), in its own process group, stopped by
TERM to that group (Java exits in ~3 s).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx

from .processes import LOG_DIR, REPO_ROOT, free_port

REALM = "chatbot"
CLIENT_ID = "chatbot"
CONFIDENTIAL_CLIENT_ID = "chatbot-confidential"
CONFIDENTIAL_SECRET = "chatbot-test-secret"
REALM_FILE = Path(__file__).parent / "keycloak" / "chatbot-realm.json"
PASSWORDS = {
    "alice": "alice-password",
    "bob": "bob-password",
    "carol": "carol-password",
    "dave": "dave-password",
}
NAMES = {"alice": "Alice Admin", "bob": "Bob User", "carol": "Carol User", "dave": "Dave User"}
START_TIMEOUT = 360.0  # 21-28 s idle, 45-75 s loaded, 140+ s at load 14; a first build adds ~50 s
#: pytest-timeout for tests that may be the first to ask for the session's Keycloak.
TEST_TIMEOUT = int(START_TIMEOUT) + 240


def keycloak_home() -> Path:
    """The unpacked distribution (fetched by ``scripts/test-prereqs.sh keycloak``)."""
    out = subprocess.run(
        [str(REPO_ROOT / "scripts" / "keycloak.sh"), "home"], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError("Keycloak is not installed: run scripts/test-prereqs.sh keycloak")
    return Path(out.stdout.strip())


@dataclass
class Keycloak:
    popen: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{REALM}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    def log(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")
        return ""

    def password_grant(self, username: str, client_id: str = CLIENT_ID) -> dict[str, Any]:
        """Tokens of ``username`` (the test realm allows the password grant for scripts)."""
        data = {
            "grant_type": "password",
            "client_id": client_id,
            "username": username,
            "password": PASSWORDS[username],
            "scope": "openid profile email",
        }
        if client_id == CONFIDENTIAL_CLIENT_ID:
            data["client_secret"] = CONFIDENTIAL_SECRET
        r = httpx.post(self.token_endpoint, data=data, timeout=30)
        r.raise_for_status()
        tokens: dict[str, Any] = r.json()
        return tokens

    def id_token(self, username: str) -> str:
        return str(self.password_grant(username)["id_token"])

    def stop(self) -> None:
        """TERM to the process group we started; KILL if it is still there after 30 s."""
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


def start_keycloak(port: int | None = None) -> Keycloak:
    """Start Keycloak (dev mode, in-memory database, the test realm imported) and wait."""
    home = keycloak_home()
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("Keycloak needs Java 17+ (apt-get install openjdk-17-jre-headless)")
    import_dir = home / "data" / "import"
    import_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REALM_FILE, import_dir / REALM_FILE.name)
    port = port or free_port()
    LOG_DIR.mkdir(exist_ok=True)
    log_path = LOG_DIR / f"keycloak-{port}.log"
    env = {
        **os.environ,
        "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
        "KC_BOOTSTRAP_ADMIN_PASSWORD": "admin",
        # A smaller heap than the default 70 % of RAM: the machine is shared.
        "JAVA_OPTS_KC_HEAP": "-XX:MaxRAMPercentage=20 -XX:InitialRAMPercentage=5",
    }
    argv = [
        str(home / "bin" / "kc.sh"),
        "start-dev",
        f"--http-port={port}",
        "--http-host=127.0.0.1",
        # One issuer whatever host a request names (browser and services both use 127.0.0.1).
        f"--hostname=http://127.0.0.1:{port}",
        "--db=dev-mem",
        "--import-realm",
        "--http-management-port=" + str(free_port()),
    ]
    with log_path.open("wb") as log_file:
        popen = subprocess.Popen(
            argv, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    kc = Keycloak(popen, port, log_path)
    try:
        _wait_ready(kc)
    except BaseException:
        kc.stop()
        raise
    return kc


def attach_keycloak(port: int) -> Keycloak:
    """One started by ``python -m tests.support.keycloak PORT`` (not ours to stop)."""
    popen = subprocess.Popen(["true"])
    popen.wait()
    return Keycloak(popen, port, LOG_DIR / f"keycloak-{port}.log")


def _wait_ready(kc: Keycloak) -> None:
    discovery = kc.issuer + "/.well-known/openid-configuration"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if kc.popen.poll() is not None:
            raise RuntimeError(f"keycloak exited with {kc.popen.returncode}:\n{kc.log()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(discovery, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"keycloak not ready after {START_TIMEOUT}s:\n{kc.log()[-4000:]}")


if __name__ == "__main__":  # a Keycloak for a quicker edit-test loop: KEYCLOAK_TEST_PORT=PORT
    import sys

    kc = start_keycloak(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    sys.stdout.write(f"KEYCLOAK_TEST_PORT={kc.port} (issuer {kc.issuer}); Ctrl-C stops it\n")
    try:
        kc.popen.wait()
    except KeyboardInterrupt:
        kc.stop()
