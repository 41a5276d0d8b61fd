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

#: A message's keys (CONTRACT.md, "Objects"; ``next_index`` only on a ``streaming`` one) ...
MESSAGE_FIELDS = frozenset(
    {"id", "conversation_id", "seq", "role", "content", "status", "created_at", "model", "usage"}
)
#: ... and the additions of issue 20 (docs/ARCHITECTURE.md): nothing else may reach a client.
MESSAGE_ADDITIONS = frozenset({"client_message_id", "parent_id", "versions", "feedback", "files"})


def assert_message_shape(message: dict[str, object]) -> None:
    """``message`` has the contract's keys (and the documented additions) and no other;
    ``next_index`` (an int) exactly when it is ``streaming``."""
    streaming = message.get("status") == "streaming"
    assert MESSAGE_FIELDS - {"model", "usage"} <= set(message), message  # model?, usage?
    extra = set(message) - MESSAGE_FIELDS - MESSAGE_ADDITIONS - {"next_index"}
    assert not extra, f"keys outside the contract: {extra}"
    assert ("next_index" in message) == streaming, message
    if streaming:
        assert isinstance(message["next_index"], int), message
