"""Small helpers both stores share."""

from __future__ import annotations

import re

DEFAULT_TITLE = "New conversation"


def regex_pattern(query: str) -> str:
    """A regular expression matching ``query`` literally (for MongoDB ``$regex``)."""
    return re.escape(query)
