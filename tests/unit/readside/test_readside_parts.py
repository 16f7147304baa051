"""The read side's small parts: the replay progress line, audit problems by program."""

from __future__ import annotations

import io

from processors.readside.progress import ProgressBar


def test_progress_line_shows_rate_and_eta() -> None:
    bar = ProgressBar(1000, io.StringIO())
    bar.done = 250
    line = bar.line(bar.started + 1.0)
    assert "25%" in line and "250/1,000" in line and "250/s" in line and "ETA" in line


def test_audit_problems_name_their_program() -> None:
    from processors.readside.audit import problem_program

    assert problem_program("acme:ann points: lots sum to 3, available is 2") == "acme"
    assert problem_program("changelog: beta:bob differs from the journal's fold in lots") == "beta"
    assert problem_program("trial balance of acme points is 1, not 0") == "acme"
    assert problem_program("totals of beta miles|@issuance: Redis has 1") == "beta"
    assert problem_program("@transit of acme points is negative: -5") == "acme"
    assert problem_program("acme:ann:3: postings of points sum to 1") == "acme"
    assert problem_program("journal 3@7 undecodable") == ""
