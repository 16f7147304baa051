"""Runs every scenario table and checks that, together, they cover the whole domain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.model import Operation
from ledger.programs import Programs
from ledger.reasons import Reason
from tests.unit.ledger.scenario_runner import (
    SCENARIO_DIR,
    ScenarioError,
    run_scenario,
    scenario_lines,
)

SCENARIOS = sorted(SCENARIO_DIR.glob("*.txt"))
LINES_MIN = 60


def _request_lines() -> list[str]:
    return [
        line.text
        for path in SCENARIOS
        for line in scenario_lines(path)
        if "->" in line.text and not line.text.startswith("@")
    ]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda path: path.stem)
def test_scenario(path: Path, programs: Programs) -> None:
    run_scenario(path, programs)


def test_scenarios_have_enough_lines() -> None:
    assert len(_request_lines()) >= LINES_MIN


DECIDED_BY_THE_CORE = {Reason.OUTPUT_TOO_LARGE}
"""Reasons `decide` never answers: the core refuses an outcome it cannot write
(tests/unit/core/test_batch.py covers it)."""


def test_every_reason_is_expected_by_some_line() -> None:
    expected = {line.split("->")[1].split()[0] for line in _request_lines()}
    missing = [
        reason.value
        for reason in Reason
        if reason.value not in expected and reason not in DECIDED_BY_THE_CORE
    ]
    assert not missing, f"no scenario line expects: {missing}"


def test_every_outcome_named_in_a_scenario_exists() -> None:
    outcomes = {line.split("->")[1].split()[0] for line in _request_lines()}
    known = {reason.value for reason in Reason} | {"APPLIED", "DUPLICATE"}
    known |= {f"DUPLICATE:{reason.value}" for reason in Reason}
    assert outcomes <= known, outcomes - known


def test_every_operation_appears() -> None:
    used = {re.split(r"\s+", line)[1] for line in _request_lines() if not line.startswith("check")}
    missing = {operation.value for operation in Operation} - used
    assert not missing


def test_a_wrong_expectation_fails(tmp_path: Path, programs: Programs) -> None:
    table = tmp_path / "wrong.txt"
    table.write_text("alice ACCRUE points 10 -> APPLIED points=11\n")
    with pytest.raises(ScenarioError, match=r"wrong\.txt:1"):
        run_scenario(table, programs)
