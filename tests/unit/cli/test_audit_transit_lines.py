"""`ledger audit` explains @transit across regions in one line per program and asset."""

from __future__ import annotations

from cli.audit import transit_lines
from processors.readside.regional_audit import ALL_REGIONS


def test_each_region_is_explained_by_the_others_legs() -> None:
    transit = {
        "acme points": {
            "eu": {
                "book": 120,
                "in_flight": 20,
                "settled_elsewhere": {"us": 100},
                "settled_for": {},
                "unpaired": 0,
            },
            "us": {
                "book": -100,
                "in_flight": 0,
                "settled_elsewhere": {},
                "settled_for": {"eu": 100},
                "unpaired": 0,
            },
            ALL_REGIONS: {"book": 20, "in_flight": 20},
        }
    }
    assert transit_lines(transit) == [
        "@transit of acme points: eu 120 (in flight 20, settled in us 100); "
        "us -100 (in flight 0, settled here for eu 100); all regions 20, in flight 20"
    ]
