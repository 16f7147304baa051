"""`ledger audit`: the books' invariants, and the changelog and Redis against the journal."""

from __future__ import annotations

import argparse
from typing import Any

import redis

from processors.readside.audit import audit, store_report
from processors.readside.regional_audit import ALL_REGIONS
from schemas.contracts import WireContracts
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="every invariant of the books; changelog and Redis == fold of the journal",
        description=(
            "Folds the whole journal (read_committed) and checks: every account's sequence "
            "continues, every event's postings balance, the trial balance per program and "
            "asset is zero, lots sum to max(available, 0), held equals the open holds, @holds "
            "equals what accounts hold, @transit equals the transfers in flight and is never "
            "negative, every transfer leg settles a transfer; every state in the changelog "
            "holds the same and equals the fold; Redis's balances equal the fold for a sample "
            "of accounts (--all: every account) and its program totals equal the journal's "
            "sums up to the offsets Redis has applied. "
            "Exit status 0 when all is well, 1 with a report of every discrepancy."
        ),
    )
    parser.add_argument("--all", action="store_true", help="compare every account")
    parser.add_argument(
        "--sample",
        type=int,
        help="accounts to compare (env LEDGER_AUDIT_SAMPLE_ACCOUNTS, default 200)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--wait",
        type=float,
        default=10.0,
        help="seconds to wait for a mirror that is behind (default %(default)s)",
    )
    parser.set_defaults(handler=_audit)


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    client = redis.Redis.from_url(settings.redis_url)
    sample = 0 if args.all else args.sample
    report = audit(
        settings,
        client,
        WireContracts.for_registry(settings.schema_registry_url),
        sample,
        wait_behind_s=args.wait,
    )
    store_report(client, settings, report)
    if args.json:
        print(report.to_json())
    else:
        verdict = "OK" if report.ok else f"{len(report.problems)} DISCREPANCIES"
        print(
            f"audit {verdict}: {report.events:,} events, {report.accounts:,} accounts, "
            f"{report.accounts_compared:,} compared with Redis "
            f"({report.accounts_skipped:,} moved on meanwhile), "
            f"{report.changelog_compared:,} with the changelog, totals "
            f"{'compared' if report.totals_compared else 'not compared (no model)'}, "
            f"generation {report.generation}, {report.seconds:.1f} s"
        )
        for line in transit_lines(report.transit):
            print(f"  {line}")
        for problem in report.problems:
            print(f"  - {problem}")
    return 0 if report.ok else 1


def transit_lines(transit: dict[str, dict[str, Any]]) -> list[str]:
    """@transit across regions, one line per program and asset, each region's book explained:
    `@transit of acme points: eu 120 (in flight 0, settled in us 120); us -120 (...)`."""
    lines = []
    for name, regions in transit.items():
        parts = []
        for region, figure in regions.items():
            if region == ALL_REGIONS:
                continue
            detail = [f"in flight {figure['in_flight']}"]
            detail += [f"settled in {r} {v}" for r, v in figure["settled_elsewhere"].items()]
            detail += [f"settled here for {r} {v}" for r, v in figure["settled_for"].items()]
            if figure["unpaired"]:
                detail.append(f"settling nothing {figure['unpaired']}")
            parts.append(f"{region} {figure['book']} ({', '.join(detail)})")
        total = regions[ALL_REGIONS]
        lines.append(
            f"@transit of {name}: {'; '.join(parts)}; all regions {total['book']}, "
            f"in flight {total['in_flight']}"
        )
    return lines
