"""Logging for every `ledger` process: JSON lines by default, one event per line.

Fields: `ts` (UTC, ISO 8601 with ms), `level`, `logger`, `message`, and whatever a call passes
in `extra=` (`request_id`, `program`, `account_id`, `partition`, `offset`, `trace_id` ...), so a
log pipeline can filter on them without parsing prose. `LEDGER_LOG_FORMAT=text` gives
human-readable lines instead.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stdout)
    if log_format == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def dict_config(log_format: str, level: str = "INFO") -> dict[str, object]:
    """The same set-up as a `logging.config.dictConfig` document, for frameworks (Faust's
    worker) that insist on configuring logging themselves."""
    formatter: dict[str, object] = (
        {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
        if log_format == "text"
        else {"()": f"{__name__}.JsonLines"}
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
