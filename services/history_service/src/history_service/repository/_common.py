"""Small helpers of the stores."""

from __future__ import annotations

import re


def regex_pattern(query: str) -> str:
    """A regular expression matching ``query`` literally (for MongoDB ``$regex``)."""
    return re.escape(query)
