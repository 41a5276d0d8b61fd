"""Small helpers both stores share."""

from __future__ import annotations

import re

DEFAULT_TITLE = "New conversation"


def like_pattern(query: str) -> str:
    """``%query%`` for SQL ``LIKE ... ESCAPE '\\'`` with the query's wildcards escaped."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def regex_pattern(query: str) -> str:
    """A regular expression matching ``query`` literally (for MongoDB ``$regex``)."""
    return re.escape(query)
