"""Identity and trust boundaries, against real processes.

Tokens: forged, expired, wrong-audience, wrong-issuer, unsigned and algorithm-confused tokens
are refused at connect. OIDC mode: ID tokens signed by a key the test generates, published by a
JWKS server on loopback, are accepted; with ``GUEST_ACCESS=false`` the UI issues no guest token
and the chat service refuses ours. Origins: a forged ``Origin`` is refused at connect.
Internal calls: the history and LLM services refuse callers without the internal token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jwt
import pytest
import socketio
from chatbot_common.tokens import issue_guest_token
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.security_support import JwksServer
from tests.support.chat_client import ChatClient
from tests.support.stack import Stack, start_stack

AUDIENCE = "chatbot-web"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def guest_claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "guest-x", "iss": "chatbot-ui", "aud": "chatbot-chat", "iat": now,
            "exp": now + 600, "guest": True, **over}


async def refused(
    url: str, token: str | None, origin: str | None = None, code: str = "unauthorized"
) -> None:
    """The connect is refused by Socket.IO's auth with the contract's error ``code``."""
    c = ChatClient(url, token, origin=origin)
    refusals: list[Any] = []
    c.sio.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await c.connect()
    assert not c.sio.connected
    await c.close()
    assert [r["data"]["code"] for r in refusals if isinstance(r, dict)] == [code], refusals


async def origin_refused(url: str, token: str, origin: str) -> None:
    """The connect fails, and the reason is the origin: the handshake says so (HTTP 400)."""
    c = ChatClient(url, token, origin=origin)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await c.connect()
    assert not c.sio.connected
    await c.close()
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.get(
            f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"},
            headers={"Origin": origin},
        )
    assert r.status_code == 400 and "is not an accepted origin" in r.text, (r.status_code, r.text)


@pytest.mark.parametrize(
    "kind", ["wrong-secret", "expired", "wrong-audience", "wrong-issuer", "no-exp", "alg-none",
             "tampered", "huge"],
)
async def test_bad_guest_tokens_refused(stack: Stack, kind: str) -> None:
    secret = stack.auth_secret
    token = {
        "wrong-secret": lambda: jwt.encode(guest_claims(), "x" * 48, algorithm="HS256"),
        "expired": lambda: jwt.encode(
            guest_claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), secret,
            algorithm="HS256"),
        "wrong-audience": lambda: jwt.encode(guest_claims(aud="someone-else"), secret,
                                             algorithm="HS256"),
        "wrong-issuer": lambda: jwt.encode(guest_claims(iss="evil"), secret, algorithm="HS256"),
        "no-exp": lambda: jwt.encode(
            {k: v for k, v in guest_claims().items() if k != "exp"}, secret, algorithm="HS256"),
        "alg-none": lambda: b64(b'{"alg":"none","typ":"JWT"}') + "."
        + b64(json.dumps(guest_claims()).encode()) + ".",
        "tampered": lambda: _tamper(stack.guest_token()[0]),
        "huge": lambda: "a." * 5000,
    }[kind]()
    await refused(stack.chat.url, token)


def _tamper(token: str) -> str:
    """Keep the signature, change the subject: another user's id with our signature."""
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "guest-victim"
    return f"{header}.{b64(json.dumps(claims).encode())}.{sig}"


async def test_a_good_guest_token_connects(stack: Stack) -> None:
    token, _ = stack.guest_token()
    c = await ChatClient(stack.chat.url, token, origin=stack.ui.url).connect()
    try:
        assert (await c.ok("conversation.list", {}))["conversations"] == []
    finally:
        await c.close()


async def test_forged_origin_refused_at_connect(stack: Stack) -> None:
    token, _ = stack.guest_token()
    for origin in ("https://evil.example", "http://127.0.0.1:1", "null"):
        await origin_refused(stack.chat.url, token, origin)
    allowed = await ChatClient(stack.chat.url, token, origin=stack.ui.url).connect()
    assert allowed.sio.connected
    await allowed.close()


@pytest.mark.parametrize("presented", [None, "Bearer wrong-token", "wrong-token", "Bearer"])
def test_history_and_llm_refuse_calls_without_the_internal_token(
    stack: Stack, presented: str | None
) -> None:
    headers = {"X-User-Id": "guest-a"}
    if presented is not None:
        headers["Authorization"] = presented
    calls = [
        ("GET", stack.history.url + "/v1/conversations", None),
        ("POST", stack.history.url + "/v1/conversations", {"title": "x"}),
        ("GET", stack.history.url + "/v1/streaming-messages", None),
        ("GET", stack.llm.url + "/v1/models", None),
        ("POST", stack.llm.url + "/v1/chat/completions",
         {"messages": [{"role": "user", "content": "hi"}]}),
    ]
    for method, url, body in calls:
        r = httpx.request(method, url, headers=headers, json=body, timeout=10)
        assert r.status_code == 401, (url, r.status_code, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
    # ... and answer with it.
    good = {**headers, "Authorization": f"Bearer {stack.internal_token}"}
    assert httpx.get(stack.history.url + "/v1/conversations", headers=good).status_code == 200
    assert httpx.get(stack.llm.url + "/v1/models", headers=good).status_code == 200


# ---------------------------------------------------------------- OIDC mode


class Idp:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = JwksServer({"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]})
        self.issuer = self.jwks.issuer

    def token(self, key: Any = None, kid: str | None = None, **over: Any) -> str:
        now = int(time.time())
        claims = {"sub": "alice", "iss": self.issuer, "aud": AUDIENCE, "iat": now, "exp": now + 600,
                  **over}
        return jwt.encode(claims, key or self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid})

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def idp() -> Iterator[Idp]:
    i = Idp()
    try:
        yield i
    finally:
        i.jwks.stop()


@pytest.fixture(scope="module")
def oidc_stack(tmp_path_factory: pytest.TempPathFactory, idp: Idp) -> Iterator[Stack]:
    s = start_stack(
        Path(tmp_path_factory.mktemp("oidc")),
        env={"OIDC_ISSUER": idp.issuer, "OIDC_CLIENT_ID": AUDIENCE, "GUEST_ACCESS": "false"},
    )
    try:
        yield s
    finally:
        s.stop()


def test_guest_access_off_ui_issues_no_guest_token(oidc_stack: Stack) -> None:
    r = httpx.post(oidc_stack.ui.url + "/auth/guest", timeout=10)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "unauthorized"


async def test_guest_access_off_chat_refuses_guest_tokens(oidc_stack: Stack) -> None:
    token, _ = issue_guest_token(oidc_stack.auth_secret, 600)
    await refused(oidc_stack.chat.url, token)


async def test_oidc_id_token_connects_and_scopes_data(oidc_stack: Stack, idp: Idp) -> None:
    alice = await ChatClient(oidc_stack.chat.url, idp.token(sub="alice")).connect()
    bob = await ChatClient(oidc_stack.chat.url, idp.token(sub="bob")).connect()
    try:
        conv = (await alice.ok("conversation.create", {"title": "alice's"}))["conversation"]
        ack = await bob.call("conversation.get", {"conversation_id": conv["id"]})
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
        assert (await bob.ok("conversation.list", {}))["conversations"] == []
        # Bob with a new token (same subject) still sees nothing of alice's; alice sees hers.
        listed = (await alice.ok("conversation.list", {}))["conversations"]
        assert [c["id"] for c in listed] == [conv["id"]]
    finally:
        await alice.close()
        await bob.close()
    assert idp.jwks.hits >= 1


@pytest.mark.parametrize(
    "kind", ["other-key", "unknown-kid", "expired", "wrong-audience", "wrong-issuer",
             "hs256-with-public-key", "no-sub"],
)
async def test_bad_oidc_tokens_refused(oidc_stack: Stack, idp: Idp, kind: str) -> None:
    now = int(time.time())
    if kind == "hs256-with-public-key":
        # The classic algorithm confusion: HMAC keyed with the issuer's public key.
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": idp.kid}).encode())
        body = b64(json.dumps({"sub": "alice", "iss": idp.issuer, "aud": AUDIENCE, "iat": now,
                               "exp": now + 600}).encode())
        sig = hmac.new(idp.public_pem(), f"{header}.{body}".encode(), hashlib.sha256).digest()
        token = f"{header}.{body}.{b64(sig)}"
    elif kind == "no-sub":
        claims = {"iss": idp.issuer, "aud": AUDIENCE, "iat": now, "exp": now + 600}
        token = jwt.encode(claims, idp.key, algorithm="RS256", headers={"kid": idp.kid})
    else:
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = {
            "other-key": lambda: idp.token(key=other),
            "unknown-kid": lambda: idp.token(key=other, kid="nobody-" + uuid.uuid4().hex),
            "expired": lambda: idp.token(iat=now - 7200, exp=now - 3600),
            "wrong-audience": lambda: idp.token(aud="another-client"),
            "wrong-issuer": lambda: idp.token(iss="https://evil.example"),
        }[kind]()
    await refused(oidc_stack.chat.url, token)
