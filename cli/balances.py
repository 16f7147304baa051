"""`ledger balances`: an account's or a program's balances, now (Redis) or as of a time."""

from __future__ import annotations

import argparse
import json
from typing import Any

import redis

from cli.replay import parse_timestamp_ms
from processors.readside.asof import balances_as_of
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "balances",
        help="balances of an account or a whole program, now or --as-of a past time",
        description=(
            "Without --as-of, reads the live Redis model. With --as-of, folds the journal "
            "up to that time (events processed at or before it), independent of Redis."
        ),
    )
    parser.add_argument("program")
    parser.add_argument("account_id", nargs="?", help="omit for every account of the program")
    parser.add_argument(
        "--as-of",
        metavar="TIMESTAMP",
        help="epoch milliseconds or ISO 8601 (naive means UTC)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.set_defaults(handler=_balances)


def _balances(args: argparse.Namespace, settings: Settings) -> int:
    rows: list[dict[str, object]] = []
    if args.as_of:
        for b in balances_as_of(
            settings,
            WireContracts.for_registry(settings.schema_registry_url),
            args.program,
            parse_timestamp_ms(args.as_of),
            args.account_id,
        ):
            rows.append(
                {
                    "account_id": b.account_id,
                    "asset": b.asset,
                    "available": b.available,
                    "held": b.held,
                    "sequence": b.sequence,
                }
            )
    else:
        model = SyncReadModel(redis.Redis.from_url(settings.redis_url), settings.redis_key_prefix)
        accounts = [args.account_id] if args.account_id else model.accounts(args.program)
        for account in accounts:
            for view in model.balances(args.program, account):
                rows.append(
                    {
                        "account_id": account,
                        "asset": view.asset,
                        "available": view.available,
                        "held": view.held,
                        "sequence": view.sequence,
                    }
                )
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            print(
                f"{row['account_id']}\t{row['asset']}\tavailable {row['available']}\t"
                f"held {row['held']}\tsequence {row['sequence']}"
            )
    return 0
