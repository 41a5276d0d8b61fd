"""Logs to stdout through the standard logging module: JSON lines (containers, the default) or
one readable, service-coloured line per event (LOG_FORMAT=console: `make run`'s terminal)."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, Literal

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    items = record.__dict__.items()
    return {k: v for k, v in items if k not in _RESERVED and not k.startswith("_")}


# ANSI colours per service (the first part of its name) and per level.
_SERVICE_COLOURS = {"ui": "36", "chat": "35", "llm": "33", "history": "32"}
_LEVEL_COLOURS = {"WARNING": "33", "ERROR": "31", "CRITICAL": "1;31"}
_BAR = 24


class ConsoleFormatter(logging.Formatter):
    """``12:00:01.234 llm     INFO  message  key=value …``: one line per event.

    A record with a ``progress`` extra (0..1) shows as a progress bar. Colours when the
    stream is a terminal and NO_COLOR is unset.
    """

    def __init__(self, service: str, colour: bool) -> None:
        super().__init__()
        self.service = service.removesuffix("_service")
        self.colour = colour

    def _paint(self, code: str | None, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour and code else text

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        name = self._paint(_SERVICE_COLOURS.get(self.service, "1"), f"{self.service:<7}")
        level = self._paint(_LEVEL_COLOURS.get(record.levelname), f"{record.levelname:<5}")
        extras = _extras(record)
        extras.pop("color_message", None)  # uvicorn's own coloured copy of the message
        message = record.getMessage()
        progress = extras.pop("progress", None)
        if isinstance(progress, int | float):
            done = max(0, min(_BAR, round(progress * _BAR)))
            message = f"{message} [{'#' * done}{'.' * (_BAR - done)}] {progress:4.0%}"
        fields = " ".join(f"{k}={v}" for k, v in extras.items())
        line = f"{ts} {name} {level} {message}"
        if fields:
            line += "  " + self._paint("2", fields)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(
    service: str, level: str = "INFO", fmt: Literal["json", "console"] = "json"
) -> None:
    """Send every log record, ours and the libraries', to stdout: one JSON line each, or one
    readable line each with ``fmt="console"``."""
    handler = logging.StreamHandler(sys.stdout)
    if fmt == "console":
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        handler.setFormatter(ConsoleFormatter(service, colour))
    else:
        handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # One line per HTTP request is noise at INFO; the metrics count requests.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # httpx2: the one HTTP client library (also the openai client's).
    logging.getLogger("httpx2").setLevel(logging.WARNING)
