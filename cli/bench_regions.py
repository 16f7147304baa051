"""`ledger bench-regions`: what regions cost and how fast they are (bench/regions.py), on the
local regions stack (started with --regions, or LEDGER_REGIONS, when none runs)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.regions import RegionsBenchOptions, Replication, run_regions_bench
from cli.devstack.regions import RegionsStack
from cli.errors import CliError
from cli.services import add_regions_argument
from settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench-regions",
        help="regions: replication lag under load, cross-region transfer latency, one vs two",
        description=(
            "On the local regions stack: the bench workload in one region without "
            "MirrorMaker 2, then in two regions with it (throughput and core CPU per request "
            "side by side, and every event's replication lag), then paced transfers from the "
            "first region's members to the second's (latency to the credit in the second "
            "region's Redis). Writes a JSON result and prints the figures."
        ),
    )
    defaults = RegionsBenchOptions()
    parser.add_argument("--requests", type=int, default=defaults.requests)
    parser.add_argument("--accounts", type=int, default=defaults.accounts)
    parser.add_argument("--transfers", type=int, default=defaults.transfers)
    parser.add_argument(
        "--transfer-rate", type=float, default=defaults.transfer_rate, help="transfers/s"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--partitions", type=int, default=defaults.partitions)
    parser.add_argument("--out", type=Path, default=Path("bench-regions.json"))
    add_regions_argument(parser)
    parser.set_defaults(handler=_bench_regions)


def _bench_regions(args: argparse.Namespace, settings: Settings) -> int:
    stack = RegionsStack.running(settings)
    if stack is None:
        names = args.regions or list(settings.region_names)
        if len(names) < 2:
            raise CliError("no regions stack runs: pass --regions eu,us (or set LEDGER_REGIONS)")
        stack = RegionsStack(settings, names)
        for service in stack.up():
            print(f"[bench-regions] {service.describe()}", file=sys.stderr)
    options = RegionsBenchOptions(
        requests=args.requests,
        accounts=args.accounts,
        transfers=args.transfers,
        transfer_rate=args.transfer_rate,
        seed=args.seed,
        partitions=args.partitions,
    )
    mirrormaker = stack.mirrormaker
    replication = Replication(mirrormaker.stop, mirrormaker.start, mirrormaker.process.pid)
    run_dir = Path(tempfile.mkdtemp(prefix="ledger-bench-regions-"))
    regions = {name: stack.settings_for(name) for name in stack.names}
    result = run_regions_bench(regions, options, replication, PROJECT_ROOT, run_dir, sys.stderr)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(figures_table(result))
    print(f"result: {args.out}")
    ok = all(
        (result.get(phase) or {}).get("balances_verified")
        for phase in ("one_region", "two_regions")
    )
    if ok:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"logs: {run_dir}", file=sys.stderr)
    return 0 if ok else 1


def figures_table(result: dict[str, Any]) -> str:
    one, two = result.get("one_region") or {}, result.get("two_regions") or {}
    lag = result.get("replication_lag") or {}
    paced = result.get("replication_lag_paced") or {}
    transfer = result.get("transfer_latency") or {}
    cost = result.get("cost") or {}
    home, away = result["regions"]
    rows = [
        ("", "one region", "two regions"),
        ("requests/s end to end", one.get("requests_per_s"), two.get("requests_per_s")),
        (
            "core CPU µs/request",
            one.get("core_cpu_us_per_request"),
            two.get("core_cpu_us_per_request"),
        ),
        ("balances verified", one.get("balances_verified"), two.get("balances_verified")),
    ]
    lines = [f"{a:<28}{b!s:>14}{c!s:>14}" for a, b, c in rows]
    lines += [
        f"two over one: throughput {cost.get('throughput_two_over_one')}, "
        f"core CPU {cost.get('core_cpu_two_over_one')}",
        f"replication lag {home} -> {away}: p50 {lag.get('p50_ms')} ms, p99 {lag.get('p99_ms')} "
        f"ms, max {lag.get('max_ms')} ms over {lag.get('measured')} events (full speed); "
        "MirrorMaker 2 "
        f"{result.get('mirrormaker_cpu_us_per_event')} CPU µs/event",
        f"replication lag at the transfers' pace: p50 {paced.get('p50_ms')} ms, p99 "
        f"{paced.get('p99_ms')} ms over {paced.get('measured')} events",
        f"cross-region transfer {home} -> {away} (TRANSFER sent to credit in {away}'s Redis): "
        f"p50 {transfer.get('p50_ms')} ms, p99 {transfer.get('p99_ms')} ms, "
        f"{(result.get('transfers') or {}).get('credited')} of "
        f"{(result.get('transfers') or {}).get('sent')} credited",
    ]
    return "\n".join(lines)
