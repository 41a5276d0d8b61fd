"""Names fixed by the external contract (CONTRACT.md), for tests that check against it."""

from __future__ import annotations

CLIENT_EVENTS = (
    "conversation.create",
    "conversation.list",
    "conversation.get",
    "conversation.rename",
    "conversation.delete",
    "conversation.search",
    "message.send",
    "message.stop",
    "message.regenerate",
    # Accounts and administration
    "auth.renew",
    "admin.usage",
    "admin.users",
    "admin.user.update",
    # Message versions and feedback (issue 20)
    "message.edit",
    "conversation.branch",
    "conversation.tree",
    "message.feedback",
    "share.create",
    "share.list",
    "share.revoke",
    "share.get",
    # Files, sampling settings, import (issue 20)
    "conversation.update",
)

ERROR_CODES = frozenset(
    {
        "unauthorized",
        "forbidden",
        "invalid",
        "not_found",
        "too_large",
        "rate_limited",
        "upstream_error",
        "unavailable",
    }
)

#: A message's ``status`` (CONTRACT.md, "Objects").
MESSAGE_STATUSES = frozenset({"complete", "streaming", "stopped", "interrupted", "error"})
