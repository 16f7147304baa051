"""`ledger bench`: measure the ledger end to end against the broker's ceiling and a peer.

The parts live in bench/ (one module per step, see its package docstring); this
module parses options, finds Java and the broker's jars for the ceiling, and prints.

Long on purpose: `register` declares every option of `ledger bench` in one place, in the order
`--help` shows them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.mix import DEFAULT_MIX, Mix, MixError
from bench.report import result_table, write_result
from bench.run import BenchOptions, KafkaTools, run_bench
from cli.devstack import DevstackError
from cli.devstack.jars import jars_dir, require_java
from settings import Settings

PEERS = ("faust-eos",)
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark: seeded workload end to end, vs Kafka's own ceiling and a Faust peer",
        description=(
            "Produces a seeded workload into fresh topics under a unique prefix (never a "
            "deployment's data), runs --processors `ledger core` processes (and `ledger "
            "mirror`), and measures requests/s until every outcome is visible, freshness, "
            "processor CPU and peak memory. Verifies the final balances folded from the "
            "journal against the bench's own model, measures the broker's ceiling with "
            "Kafka's perf tools, and optionally runs a Faust exactly_once peer on the same "
            "workload. Writes a JSON result and prints a table. Exit status 1 when our run "
            "did not complete or its balances were wrong."
        ),
    )
    parser.add_argument(
        "--requests", type=_positive, default=100_000, help="requests to send (default %(default)s)"
    )
    parser.add_argument(
        "--accounts",
        type=_positive,
        default=10_000,
        help="accounts they go to (default %(default)s)",
    )
    parser.add_argument(
        "--mix",
        default=DEFAULT_MIX,
        help="KIND=WEIGHT,... of accrue, redeem, hold, capture, release, reverse, adjust, dup, "
        "conflict (default %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests/s to send at; 0 sends at full speed (default)",
    )
    parser.add_argument("--seed", type=int, default=1, help="workload seed (default %(default)s)")
    parser.add_argument(
        "--partitions",
        type=_positive,
        default=12,
        help="partitions of every bench topic (default %(default)s)",
    )
    parser.add_argument(
        "--processors",
        type=_positive,
        default=1,
        help="`ledger core` processes (default %(default)s)",
    )
    parser.add_argument(
        "--peer", choices=PEERS, help="also run this peer implementation on the same workload"
    )
    parser.add_argument(
        "--no-mirror",
        action="store_true",
        help="end at the journal even when `ledger mirror` exists",
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip Kafka's perf tools")
    parser.add_argument(
        "--ceiling-records",
        type=_positive,
        help="records for the perf tools (default: --requests, at least 10000)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench-result.json"),
        help="result file (default %(default)s)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the run's topics, Redis keys and logs"
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=120.0,
        help="seconds processes may take to own their partitions (default %(default)s)",
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=120.0,
        help="seconds without a new outcome before the run is declared failed "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--http-seconds",
        type=float,
        default=0.0,
        help="also drive a gateway with wrk for this long per call kind (0: no HTTP phase)",
    )
    parser.add_argument(
        "--gateway-workers",
        type=_positive,
        default=1,
        help="uvicorn workers of that gateway (default %(default)s)",
    )
    parser.set_defaults(handler=_bench)


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    try:
        mix = Mix.parse(args.mix)
    except MixError as error:
        print(f"ledger bench: {error}", file=sys.stderr)
        return 2
    options = BenchOptions(
        requests=args.requests,
        accounts=args.accounts,
        mix=mix,
        rate=args.rate or None,
        seed=args.seed,
        partitions=args.partitions,
        processors=args.processors,
        mirror=not args.no_mirror,
        peer=args.peer,
        ceiling=not args.no_ceiling,
        ceiling_records=args.ceiling_records,
        keep=args.keep,
        ready_timeout_s=args.ready_timeout,
        stall_timeout_s=args.stall_timeout,
        http_seconds=args.http_seconds,
        gateway_workers=args.gateway_workers,
    )
    run_dir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    result = run_bench(options, settings, _kafka_tools(settings), PROJECT_ROOT, run_dir, sys.stderr)
    result["logs_dir"] = str(run_dir)
    write_result(result, args.out)
    print(result_table(result))
    print(f"result: {args.out}")
    ours = result.get("ours") or {}
    succeeded = bool(
        ours.get("complete") and ours.get("balances_verified") and ours.get("outcomes_verified")
    )
    if succeeded and not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
        result["logs_dir"] = None
        write_result(result, args.out)
    return 0 if succeeded else 1


def _kafka_tools(settings: Settings) -> KafkaTools | None:
    """Java and the broker's own jars, for the perf tools; None when either is missing."""
    try:
        java = require_java()
    except DevstackError:
        return None
    libs = jars_dir(settings)
    return KafkaTools(java, libs) if (libs / ".complete").exists() else None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
