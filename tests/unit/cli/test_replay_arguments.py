"""`ledger replay`'s start points as a person types them."""

from __future__ import annotations

from cli.replay import parse_offsets, parse_timestamp_ms


def test_command_line_start_points() -> None:
    assert parse_offsets("0:120,2:5") == {0: 120, 2: 5}
    assert parse_timestamp_ms("1700000000000") == 1_700_000_000_000
    assert parse_timestamp_ms("2023-11-14T22:13:20") == 1_700_000_000_000
