"""Logging for every `ledger` process: JSON lines for machines, readable lines for people.

JSON fields: `ts` (UTC, ISO 8601 with ms), `level`, `logger`, `message`, and whatever a call
passes in `extra=` (`request_id`, `program`, `account_id`, `partition`, `offset`, `trace_id`
...), so a log pipeline can filter on them without parsing prose.

`LEDGER_LOG_FORMAT` picks the format: `auto` (the default) writes readable, coloured lines when
stdout is a terminal and JSON lines otherwise (containers, CI, a pipe); `json`, `text`
(readable, no colour) and `color` (readable, coloured: what `ledger run` asks of its children
when its own stdout is a terminal, since theirs is a pipe) force one. `NO_COLOR` (no-color.org)
turns `auto` and `color` into `text`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

from settings.common import LOG_FORMATS

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}

RESET, DIM, BOLD = "\x1b[0m", "\x1b[2m", "\x1b[1m"
LEVEL_COLOURS = {
    "DEBUG": "\x1b[2;37m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;41;37m",
}


def _extras(record: logging.LogRecord) -> dict[str, object]:
    """What the call passed in `extra=`."""
    return {
        key: value if isinstance(value, str | int | float | bool) else str(value)
        for key, value in vars(record).items()
        if key not in _STANDARD and not key.startswith("_")
    }


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ReadableLines(logging.Formatter):
    """`12:03:04.512 INFO  core.loop  message  partition=3 request_id=r-1`: local time, level,
    logger and message first, the structured fields after them, optionally in colour."""

    def __init__(self, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if self.colour else text

    def format(self, record: logging.LogRecord) -> str:
        clock = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        level = record.levelname
        message = _printable(record.getMessage())
        parts = [
            self._paint(DIM, clock),
            self._paint(LEVEL_COLOURS.get(level, ""), f"{level:<5}"),
            self._paint(DIM, _short_logger(record.name)),
            self._paint(BOLD, message) if record.levelno >= 30 else message,
        ]
        fields = " ".join(
            f"{self._paint(DIM, k + '=')}{_printable(v)}" for k, v in _extras(record).items()
        )
        line = " ".join(parts) + (f"  {fields}" if fields else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


_CONTROL = {n: f"\\x{n:02x}" for n in (*range(0x20), 0x7F) if n != 0x09}


def _printable(value: object) -> str:
    """Text with control characters escaped: a request id or reason carrying `\\n` or an ANSI
    escape must not forge a log line or drive the reader's terminal."""
    return str(value).translate(_CONTROL)


def _short_logger(name: str) -> str:
    """`processors.core.loop` -> `core.loop`: the package every process shares says nothing."""
    return name.removeprefix("processors.")


def resolve_format(log_format: str, stream: TextIO) -> str:
    """`json`, `text` or `color` for `log_format` written to `stream`."""
    if log_format not in LOG_FORMATS:
        raise ValueError(
            f"LEDGER_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}: {log_format!r}"
        )
    if log_format == "auto":
        log_format = "color" if _is_terminal(stream) else "json"
    if log_format == "color" and os.environ.get("NO_COLOR"):
        return "text"
    return log_format


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def formatter_for(log_format: str, stream: TextIO) -> logging.Formatter:
    resolved = resolve_format(log_format, stream)
    return JsonLines() if resolved == "json" else ReadableLines(colour=resolved == "color")


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter_for(log_format, sys.stdout))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def dict_config(log_format: str, level: str = "INFO") -> dict[str, object]:
    """The same set-up as a `logging.config.dictConfig` document, for frameworks (Faust's
    worker) that insist on configuring logging themselves."""
    resolved = resolve_format(log_format, sys.stdout)
    formatter: dict[str, object] = (
        {"()": f"{__name__}.JsonLines"}
        if resolved == "json"
        else {"()": f"{__name__}.ReadableLines", "colour": resolved == "color"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ledger": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "ledger",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"level": level, "handlers": ["default"]},
    }
