"""The UI service over HTTP (in process): config, guest tokens, security headers, vendor files."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from chatbot_common.errors import UnauthorizedError
from chatbot_common.tokens import ALGORITHM, AUDIENCE, ISSUER, issue_guest_token, verify_token
from fastapi.testclient import TestClient
from ui_service.main import create_app
from ui_service.settings import DEFAULT_WEB_DIR, UiSettings

SECRET = "unit-test-secret-of-at-least-32-bytes!"


def make_client(tmp_path: Path, **env: Any) -> TestClient:
    settings = UiSettings(STATE_DIR=tmp_path, AUTH_SECRET=SECRET, **env)
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, LLM_SERVICE_URL=None) as c:
        yield c


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "evil.example"])
def test_config_never_reflects_the_host_header(client: TestClient, host: str) -> None:
    r = client.get("/config.json", headers={"Host": f"{host}:8080"})
    assert r.status_code == 200
    assert r.json() == {"chat_url": "http://localhost:8081", "socket_path": "/socket.io",
                        "auth": {"guest_access": True, "oidc": None,
                                 "share_public_links": False}}


def test_config_uses_configured_public_url_and_port(tmp_path: Path) -> None:
    with make_client(tmp_path, PUBLIC_URL="https://chat.example.org", CHAT_PUBLIC_PORT=9001) as c:
        assert c.get("/config.json", headers={"Host": "box:1"}).json()["chat_url"] == (
            "https://chat.example.org:9001")
    with make_client(tmp_path, CHAT_PUBLIC_URL="https://chat.example.org/") as c:
        assert c.get("/config.json").json()["chat_url"] == "https://chat.example.org"
    # '' = same origin (one ingress in front of both services).
    with make_client(tmp_path, CHAT_PUBLIC_URL="", CHAT_SOCKET_PATH="/chat/socket.io") as c:
        body = c.get("/config.json").json()
        assert (body["chat_url"], body["socket_path"]) == ("", "/chat/socket.io")


def test_config_names_the_identity_provider(tmp_path: Path) -> None:
    env = {"OIDC_ISSUER": "https://id.example/realms/x", "OIDC_CLIENT_ID": "web"}
    with make_client(tmp_path, **env) as c:
        # With an issuer, guests are off unless GUEST_ACCESS says otherwise.
        assert c.get("/config.json").json()["auth"] == {
            "guest_access": False,
            "oidc": {"issuer": "https://id.example/realms/x", "client_id": "web"},
            "share_public_links": False,
        }
        assert c.post("/auth/guest").status_code == 403
        assert c.post("/auth/reader").status_code == 403  # share links: signed-in users only
    with make_client(tmp_path, SHARE_PUBLIC_LINKS="true", **env) as c:
        assert c.get("/config.json").json()["auth"]["share_public_links"] is True
        reader = c.post("/auth/reader").json()
        claims = jwt.decode(reader["token"], options={"verify_signature": False})
        assert claims["aud"] == "chatbot-share-reader" and claims["sub"].startswith("reader-")
    with make_client(tmp_path, GUEST_ACCESS="true", **env) as c:
        assert c.get("/config.json").json()["auth"]["guest_access"] is True


def test_guest_token_verifies_with_the_shared_secret(client: TestClient) -> None:
    r = client.post("/auth/guest")
    assert r.status_code == 200
    body = r.json()
    user = verify_token(body["token"], SECRET)
    assert user.id == body["user_id"]
    assert user.guest
    client.cookies.clear()  # another browser
    other = client.post("/auth/guest").json()
    assert other["user_id"] != body["user_id"]


def test_guest_token_renews_the_same_user(client: TestClient) -> None:
    first = client.post("/auth/guest").json()
    again = client.post("/auth/guest", json={"token": first["token"]}).json()
    assert again["user_id"] == first["user_id"]
    assert verify_token(again["token"], SECRET).id == first["user_id"]


def test_an_expired_token_alone_renews_nothing(tmp_path: Path) -> None:
    """Issue 16, finding 5: a leaked token is worth at most its hour."""
    now = int(time.time())
    claims = {"sub": "guest-old", "iss": ISSUER, "aud": AUDIENCE, "iat": now - 4000,
              "exp": now - 600, "guest": True}
    expired = jwt.encode(claims, SECRET, algorithm=ALGORITHM)
    with make_client(tmp_path) as c:
        assert c.post("/auth/guest", json={"token": expired}).json()["user_id"] != "guest-old"


def test_guest_tokens_live_an_hour_and_renew_through_the_cookie(tmp_path: Path) -> None:
    with make_client(tmp_path, TOKEN_RENEW_WINDOW_SECONDS=7200) as c:
        r = c.post("/auth/guest")
        body = r.json()
        assert body["expires_in"] == 3600
        claims = jwt.decode(body["token"], SECRET, algorithms=[ALGORITHM], audience=AUDIENCE)
        assert claims["exp"] - claims["iat"] == 3600
        cookie = r.headers["set-cookie"]
        assert "chatbot_guest=" in cookie and "HttpOnly" in cookie
        assert "SameSite=strict" in cookie and "Path=/auth/guest" in cookie
        assert "Max-Age=7200" in cookie
        # No token in the body at all: the cookie alone keeps the user.
        assert c.post("/auth/guest").json()["user_id"] == body["user_id"]
        # The refresh credential is no chat token.
        refresh = c.cookies["chatbot_guest"]
        with pytest.raises(UnauthorizedError):
            verify_token(refresh, SECRET)
        c.cookies.clear()
        assert c.post("/auth/guest").json()["user_id"] != body["user_id"]


def test_guest_ttl_is_at_most_an_hour(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TOKEN_TTL_SECONDS"):
        UiSettings(STATE_DIR=tmp_path, AUTH_SECRET=SECRET, TOKEN_TTL_SECONDS=7200)


def test_forged_token_gets_a_new_user(client: TestClient) -> None:
    forged, _ = issue_guest_token("someone-else-with-a-long-enough-key", 3600, "guest-victim")
    body = client.post("/auth/guest", json={"token": forged}).json()
    assert body["user_id"] != "guest-victim"
    assert client.post("/auth/guest", json={"token": "not a jwt"}).status_code == 200
    assert client.post("/auth/guest", json={"token": 5}).status_code == 422


def test_token_ttl_is_configurable(tmp_path: Path) -> None:
    with make_client(tmp_path, TOKEN_TTL_SECONDS=120) as c:
        token = c.post("/auth/guest").json()["token"]
    claims = jwt.decode(token, SECRET, algorithms=[ALGORITHM], audience=AUDIENCE)
    assert claims["exp"] - claims["iat"] == 120


def test_local_secret_is_shared_through_the_state_dir(tmp_path: Path) -> None:
    from chatbot_common.settings import local_secret

    with TestClient(create_app(UiSettings(STATE_DIR=tmp_path))) as c:
        token = c.post("/auth/guest").json()["token"]
    assert verify_token(token, local_secret(tmp_path)).guest


def test_page_has_strict_security_headers(client: TestClient) -> None:
    r = client.get("/", headers={"Host": "localhost:8080"})
    assert r.status_code == 200
    assert '<script type="module" src="/static/js/app.js">' in r.text
    csp = dict(
        part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";")
    )
    assert csp["script-src"] == "'self'"
    assert csp["default-src"] == "'none'"
    assert csp["img-src"] == "'self' data:"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["connect-src"] == "'self' http://localhost:8081 ws://localhost:8081"
    assert "unsafe" not in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    # Also on API answers and errors.
    assert "content-security-policy" in client.get("/nothing-here").headers


def test_csp_allows_a_secure_public_chat_origin(tmp_path: Path) -> None:
    with make_client(tmp_path, CHAT_PUBLIC_URL="https://chat.example.org") as c:
        csp = c.get("/").headers["content-security-policy"]
    assert "connect-src 'self' https://chat.example.org wss://chat.example.org;" in csp


def test_no_inline_scripts_in_the_page() -> None:
    html = (DEFAULT_WEB_DIR / "static" / "index.html").read_text()
    assert html.count("<script") == html.count('<script type="module" src=')
    assert " style=" not in html and "onclick" not in html


def test_conversation_links_load_the_page(client: TestClient) -> None:
    r = client.get("/c/0123abcd")
    assert r.status_code == 200
    assert "/static/js/app.js" in r.text


def test_a_link_to_an_id_that_cannot_be_ours_is_not_found(client: TestClient) -> None:
    for bad in ("a.b", "%24ne", "a" * 65):
        r = client.get(f"/c/{bad}")
        assert r.status_code == 404, bad
        assert r.json()["error"]["code"] == "not_found"


def test_vendor_files_are_served_from_node_modules(client: TestClient) -> None:
    for path in (
        "/vendor/socket.io-client/socket.io.esm.min.js",
        "/vendor/marked/marked.esm.js",
        "/vendor/dompurify/purify.es.mjs",
        "/vendor/highlight.js/es/highlight.min.js",
    ):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/javascript")
    assert client.get("/vendor/highlight.js/styles/github.min.css").status_code == 200
    assert client.get("/vendor/marked/../package.json").status_code == 404
    assert client.get("/vendor/marked/%2e%2e/package.json").status_code == 404
    assert client.get("/vendor/ws/index.js").status_code == 404
    assert client.get("/readyz").status_code == 200
    zipped = client.get("/vendor/marked/marked.esm.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(zipped.content) / 2


def test_missing_libraries_give_a_clear_error(tmp_path: Path) -> None:
    web = tmp_path / "web"
    (web / "static").mkdir(parents=True)
    with make_client(tmp_path, WEB_DIR=web) as c:
        r = c.get("/vendor/marked/marked.esm.js")
        assert r.status_code == 503
        assert "npm ci --prefix services/ui_service/web" in r.json()["error"]["message"]
        assert c.get("/readyz").status_code == 503
        assert c.get("/healthz").status_code == 200


def test_models_list_is_empty_without_an_llm_service(client: TestClient) -> None:
    assert client.get("/models.json").json() == {"models": []}


def test_metrics_are_exposed(client: TestClient) -> None:
    client.get("/config.json")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert 'route="/config.json"' in r.text
