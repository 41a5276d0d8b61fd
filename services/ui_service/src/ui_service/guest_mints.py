"""How many new guests one client address may mint per minute (``GUEST_MINTS_PER_MINUTE``).

Every per-user limit of the chat service is void if users are free: a new guest is a new
budget. New guests are counted per client address, as uvicorn resolved it (``X-Forwarded-For``
only from ``TRUSTED_PROXIES``); IPv6 clients by their /64, since one host holds a whole /64.
Renewing one's own token mints no one and is not counted. The windows live in this process:
with N UI replicas an address gets up to N times the limit.
"""

from __future__ import annotations

import ipaddress

from chatbot_common.ratelimit import Limiter, MemoryWindows

WINDOW_SECONDS = 60.0


def address_key(host: str | None) -> str:
    """The key an address is counted under: the address itself, an IPv6 one's /64."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class GuestMints:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._limiter = Limiter(MemoryWindows())

    async def admit(self, host: str | None) -> None:
        """Count one new guest for ``host``; ``RateLimitedError`` (429) beyond the limit."""
        await self._limiter.acquire(
            "mint:" + address_key(host),
            self.per_minute,
            WINDOW_SECONDS,
            what="new guests from this address",
        )
