"""The refresh credentials the UI service keeps in HttpOnly cookies (never readable by scripts).

- ``chatbot_guest`` (path ``/auth/guest``): a guest's signed refresh credential.
- ``chatbot_oidc`` (path ``/auth/oidc``): a signed-in user's refresh token from the provider.

``SameSite=Strict`` and a narrow path: sent only to the UI service's own ``/auth`` routes, from
its own pages; those routes answer with the new token in the body (same-origin readable only).
"""

from __future__ import annotations

from fastapi import Request, Response

from .settings import UiSettings

GUEST = ("chatbot_guest", "/auth/guest")
OIDC = ("chatbot_oidc", "/auth/oidc")


def _secure(request: Request, settings: UiSettings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    # The configured public address, not the request (behind a TLS ingress it is plain http).
    return settings.public_url.startswith("https:") or request.url.scheme == "https"


def read(request: Request, which: tuple[str, str]) -> str | None:
    return request.cookies.get(which[0])


def store(
    response: Response, request: Request, settings: UiSettings, which: tuple[str, str],
    value: str, max_age: int,
) -> None:
    name, path = which
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, samesite="strict",
        secure=_secure(request, settings),
    )


def clear(response: Response, request: Request, settings: UiSettings,
          which: tuple[str, str]) -> None:
    name, path = which
    response.delete_cookie(name, path=path, httponly=True, samesite="strict",
                           secure=_secure(request, settings))
