"""Log lines: JSON for machines, readable (and coloured on a terminal) for people."""

from __future__ import annotations

import io
import json
import logging

import pytest

from cli.logs import JsonLines, ReadableLines, resolve_format


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _record(level: int = logging.INFO) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {
            "name": "processors.core.loop",
            "levelno": level,
            "levelname": logging.getLevelName(level),
            "msg": "applied %d requests",
            "args": (12,),
            "created": 1_796_400_000.25,
        }
    )
    record.partition = 3
    record.request_id = "r-1"
    return record


def test_auto_is_readable_on_a_terminal_and_json_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert resolve_format("auto", Terminal()) == "color"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", Terminal()) == "json"
    assert resolve_format("text", Terminal()) == "text"
    monkeypatch.setenv("NO_COLOR", "1")
    assert resolve_format("auto", Terminal()) == "text"
    assert resolve_format("color", io.StringIO()) == "text"


def test_json_lines_carry_the_fields_passed_in_extra() -> None:
    entry = json.loads(JsonLines().format(_record()))
    assert entry["message"] == "applied 12 requests"
    assert entry["logger"] == "processors.core.loop"
    assert (entry["partition"], entry["request_id"]) == (3, "r-1")


def test_readable_lines_put_level_logger_message_then_fields() -> None:
    line = ReadableLines(colour=False).format(_record(logging.WARNING))
    assert "\x1b[" not in line
    clock, level, logger, rest = line.split(" ", 3)
    assert len(clock) == len("12:00:00.250") and clock.endswith(".250")
    assert (level, logger) == ("WARNING", "core.loop")
    assert rest == "applied 12 requests  partition=3 request_id=r-1"


def test_coloured_lines_paint_the_level() -> None:
    line = ReadableLines(colour=True).format(_record(logging.ERROR))
    assert "\x1b[31mERROR\x1b[0m" in line
    assert "applied 12 requests" in line


def test_readable_lines_escape_control_characters_from_the_outside() -> None:
    record = _record()
    record.msg, record.args = "request %s", ("r-1\n12:00:00.000 ERROR forged\x1b[2J",)
    record.request_id = "a\x1b[31mb"
    line = ReadableLines(colour=False).format(record)
    assert "\n" not in line and "\x1b" not in line
    assert "r-1\\x0a12:00:00.000 ERROR forged\\x1b[2J" in line
    assert "request_id=a\\x1b[31mb" in line
