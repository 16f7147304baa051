from __future__ import annotations

import re
from pathlib import Path

from ledger.reasons import PRECEDENCE, Reason

DOMAIN_DOC = Path(__file__).resolve().parents[3] / "docs" / "domain.md"


def test_codes_are_lower_snake_case_facts_and_unique() -> None:
    values = [reason.value for reason in Reason]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", value) for value in values)


def test_precedence_follows_declaration_order() -> None:
    assert [PRECEDENCE[reason] for reason in Reason] == list(range(len(Reason)))


def test_domain_doc_lists_every_reason_in_precedence_order() -> None:
    rows = re.findall(r"^\| (\d+) \| `([a-z_0-9]+)` \|", DOMAIN_DOC.read_text(), re.MULTILINE)
    assert [(int(rank), code) for rank, code in rows] == [
        (rank + 1, reason.value) for rank, reason in enumerate(Reason)
    ]
