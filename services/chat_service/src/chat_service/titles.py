"""A short conversation title from its first message."""

from __future__ import annotations

#: Titles that mean "none given" (the history service names new conversations so).
UNTITLED = frozenset({"", "New conversation"})


def is_untitled(title: object) -> bool:
    return title is None or (isinstance(title, str) and title.strip() in UNTITLED)


def title_from(content: str, max_chars: int = 60) -> str:
    """The first words of ``content`` on one line, cut at a word boundary, ``…`` if cut."""
    words = content.split()
    if not words:
        return "New conversation"
    line = " ".join(words)
    if len(line) <= max_chars:
        return line
    cut = line[: max_chars - 1]
    space = cut.rfind(" ")
    if space >= max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" .,;:-") + "…"
