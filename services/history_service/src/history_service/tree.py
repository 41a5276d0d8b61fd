"""The tree of message versions: rules both stores share (the stores only read and write).

Every message knows its parent (the message it follows; ``None`` for a first message).
Editing a user message stores a new *version* of it: a sibling (same parent), after which the
conversation continues; the old version and everything after it stay, off the *active
branch*. ``seq`` still numbers every message of the conversation, all branches, 1, 2, 3 … in
the order stored (so sends stay idempotent and gapless as before); the active branch is a
subsequence of it, and ``message_count`` counts the active branch only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from chatbot_common.errors import InvalidError, NotFoundError

from .models import MessagePublic


@dataclass(frozen=True)
class Node:
    """What the tree rules need of a message."""

    id: str
    parent_id: str | None
    seq: int
    active: bool = True


def branch_through(nodes: list[Node], message_id: str) -> list[str]:
    """Ids of the branch through ``message_id``, root first: its ancestors, itself, then below
    it the newest child (highest ``seq``) at each level: its latest continuation."""
    by_id = {n.id: n for n in nodes}
    node = by_id.get(message_id)
    if node is None:
        raise NotFoundError("no such message")
    children: dict[str, list[Node]] = defaultdict(list)
    for n in nodes:
        if n.parent_id is not None:
            children[n.parent_id].append(n)
    up: list[str] = []
    current: Node | None = node
    while current is not None and len(up) <= len(nodes):  # bounded: a cycle cannot hang us
        up.append(current.id)
        current = by_id.get(current.parent_id) if current.parent_id else None
    path = up[::-1]
    while children.get(node.id) and len(path) <= len(nodes):
        node = max(children[node.id], key=lambda n: n.seq)
        path.append(node.id)
    return path


def changes(nodes: list[Node], path: list[str]) -> tuple[list[str], list[str]]:
    """``(to activate, to deactivate)`` to make ``path`` the active branch."""
    on = set(path)
    activate = [n.id for n in nodes if n.id in on and not n.active]
    deactivate = [n.id for n in nodes if n.id not in on and n.active]
    return activate, deactivate


def check_editable(message: MessagePublic, active: bool) -> None:
    """Only a user message of the branch shown gets a new version."""
    if message.role != "user":
        raise InvalidError("only a user message can be edited")
    if not active:
        raise InvalidError("that message is not on the conversation's active branch")


def check_rated(message: MessagePublic) -> None:
    """Feedback is given on answers."""
    if message.role != "assistant":
        raise InvalidError("feedback is given on answers (assistant messages) only")


def with_versions(messages: list[MessagePublic], siblings: list[Node]) -> list[MessagePublic]:
    """``messages`` with ``versions`` (their siblings' ids, oldest first) where a message has
    more than one version; ``siblings`` are the messages sharing a parent with one of them."""
    groups: dict[str | None, list[str]] = defaultdict(list)
    for n in sorted(siblings, key=lambda n: n.seq):
        groups[n.parent_id].append(n.id)
    out = []
    for m in messages:
        ids = groups.get(m.parent_id, [])
        out.append(m.model_copy(update={"versions": ids}) if len(ids) > 1 else m)
    return out
