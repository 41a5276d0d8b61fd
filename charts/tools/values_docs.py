"""The `# --` comments of a chart's values.yaml, by dotted key path (helm-docs style).

A comment starting with `# --` documents the key on the line after it (or after its
continuation lines, which start with `#`). Keys inside list items are not documented
separately: the list is. Both the schema generator and the README generator read this.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-]+|\"[^\"]+\"|'[^']+'):(?:\s|$)")


def value_docs(values_yaml: Path) -> dict[str, str]:
    """Dotted path -> description, in file order."""
    docs: dict[str, str] = {}
    stack: list[tuple[int, str]] = []  # (indent, key) of the enclosing mappings
    pending: list[str] | None = None
    list_indent: int | None = None  # inside a block list item deeper than this
    for raw in values_yaml.read_text().splitlines():
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip(" "))
        if stripped.startswith("# --"):
            pending = [stripped[4:].strip()]
            continue
        if stripped.startswith("#"):
            if pending is not None:
                pending.append(stripped[1:].strip())
            continue
        if not stripped:
            pending = None
            continue
        if list_indent is not None:
            if indent > list_indent or (indent == list_indent and stripped.startswith("- ")):
                continue
            list_indent = None
        if stripped.startswith("- ") or stripped == "-":
            list_indent = indent
            pending = None
            continue
        match = KEY.match(raw)
        if not match:
            pending = None
            continue
        key = match["key"].strip("\"'")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [key])
        if pending is not None:
            docs[path] = " ".join(p for p in pending if p)
            pending = None
        stack.append((indent, key))
    return docs


def write_or_check(files: dict[Path, str], tool: str, check: bool) -> int:
    """Write each generated file, or (``check``) report those whose text differs; exit code."""
    stale = [str(p) for p, text in files.items() if not p.exists() or p.read_text() != text]
    if not check:
        for path, text in files.items():
            path.write_text(text)
        return 0
    if stale:
        sys.stderr.write(f"stale (run python charts/tools/{tool}):\n  " + "\n  ".join(stale) + "\n")
        return 1
    return 0
