"""Finding 9: the Host header is the client's; it is never reflected into what the page trusts.

``/config.json``'s ``chat_url`` and the CSP's ``connect-src`` come from PUBLIC_URL (and
CHAT_PUBLIC_URL / CHAT_PUBLIC_PORT), whatever Host (or X-Forwarded-Host) a request carries.
"""

from __future__ import annotations

import httpx2 as httpx

from tests.support.processes import start_service

PUBLIC = "https://chatbot.example.test"
HOSTILE_HOSTS = ("evil.example", "evil.example:8081", "127.0.0.1:1")


def connect_src(response: httpx.Response) -> str:
    csp = response.headers["content-security-policy"]
    return next(d for d in csp.split(";") if d.strip().startswith("connect-src")).strip()


def test_config_and_csp_ignore_the_host_header(tmp_path: object) -> None:
    separate = start_service("ui_service", env={"PUBLIC_URL": PUBLIC, "STATE_DIR": str(tmp_path),
                                                 "LLM_SERVICE_URL": ""})
    same_origin = start_service("ui_service", env={"PUBLIC_URL": PUBLIC, "CHAT_PUBLIC_URL": "",
                                                    "STATE_DIR": str(tmp_path),
                                                    "LLM_SERVICE_URL": ""})
    try:
        for host in HOSTILE_HOSTS:
            headers = {"Host": host, "X-Forwarded-Host": host, "X-Forwarded-Proto": "http"}
            config = httpx.get(separate.url + "/config.json", headers=headers, timeout=10)
            assert config.json()["chat_url"] == "https://chatbot.example.test:8081", host
            page = httpx.get(separate.url + "/", headers=headers, timeout=10)
            assert connect_src(page) == ("connect-src 'self' https://chatbot.example.test:8081 "
                                         "wss://chatbot.example.test:8081"), host
            page = httpx.get(same_origin.url + "/", headers=headers, timeout=10)
            assert httpx.get(same_origin.url + "/config.json", headers=headers,
                             timeout=10).json()["chat_url"] == ""
            assert connect_src(page) == (
                "connect-src 'self' https://chatbot.example.test wss://chatbot.example.test"), host
            assert "evil" not in page.headers["content-security-policy"]
    finally:
        separate.stop()
        same_origin.stop()
