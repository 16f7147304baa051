"""`ledger keys create|revoke|list`: the gateway's API keys (stored hashed in Redis)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from gateway.auth import ApiKey, KeyAdmin, Scope
from gateway.tls import certificate_sha256
from schemas.program_feed import ProgramFeed, ProgramFeedError
from settings import Settings
from settings.programs import load_programs

SCOPES = ", ".join(s.value for s in Scope)


LIVE_PROGRAMS_TIMEOUT_S = 10.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="create, revoke and list the HTTP gateway's API keys",
        description="API keys are bound to programs and scopes; Redis stores only a hash.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a key and print it (once)")
    create.add_argument(
        "--program", action="append", required=True, help="program the key may use (repeatable)"
    )
    create.add_argument("--scopes", required=True, help=f"comma-separated scopes, any of: {SCOPES}")
    create.add_argument("--label", default="", help="who or what the key is for")
    create.add_argument(
        "--rate", type=int, help="calls per second (default LEDGER_GATEWAY_RATE_PER_S)"
    )
    create.add_argument("--burst", type=int, help="bucket size (default LEDGER_GATEWAY_RATE_BURST)")
    create.add_argument(
        "--client-cert",
        metavar="FILE",
        help="bind the key to this client certificate (PEM or DER): the gateway then accepts "
        "it only over HTTPS connections that present exactly that certificate",
    )
    create.set_defaults(handler=_create)
    revoke = actions.add_parser("revoke", help="revoke a key by its id (effective within 2 s)")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_revoke)
    listing = actions.add_parser("list", help="list keys (ids, programs, scopes; never secrets)")
    listing.set_defaults(handler=_list)


def _admin(settings: Settings) -> KeyAdmin:
    return KeyAdmin(redis.Redis.from_url(settings.redis_url), settings.redis_key_prefix)


def _create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        scopes = [Scope(s.strip()) for s in args.scopes.split(",") if s.strip()]
    except ValueError as error:
        print(f"ledger: error: {error}; scopes are: {SCOPES}", file=sys.stderr)
        return 2
    known = set(load_programs(settings.programs_config))
    if any(p not in known for p in args.program):  # created at run time?
        known.update(_live_programs(settings))
    unknown = [p for p in args.program if p not in known]
    if unknown or not scopes:
        problem = f"unknown program(s) {', '.join(unknown)}" if unknown else "no scope given"
        print(f"ledger: error: {problem}", file=sys.stderr)
        return 2
    for value, name in ((args.rate, "--rate"), (args.burst, "--burst")):
        if value is not None and value <= 0:
            print(f"ledger: error: {name} must be positive", file=sys.stderr)
            return 2
    fingerprint = None
    if args.client_cert:
        try:
            fingerprint = certificate_sha256(Path(args.client_cert).read_bytes())
        except (OSError, ValueError) as error:
            print(f"ledger: error: cannot read {args.client_cert}: {error}", file=sys.stderr)
            return 2
    key, token = _admin(settings).create(
        args.program, scopes, args.label, args.rate, args.burst, fingerprint
    )
    print(token)
    print(
        f"key {key.key_id} for {', '.join(sorted(key.programs))} with "
        f"{', '.join(sorted(key.scopes))}: store it now, it cannot be shown again",
        file=sys.stderr,
    )
    return 0


def _live_programs(settings: Settings) -> list[str]:
    """The programs on the programs topic (created through the admin API); none when Kafka
    cannot say (the error then names the program as unknown)."""
    feed = ProgramFeed(settings.kafka_config(), settings.topics.programs)
    try:
        return list(feed.catch_up(LIVE_PROGRAMS_TIMEOUT_S))
    except ProgramFeedError as error:
        print(f"ledger: warning: programs topic not read: {error}", file=sys.stderr)
        return []
    finally:
        feed.close()


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    if not _admin(settings).revoke(args.key_id):
        print(f"ledger: error: no key {args.key_id}", file=sys.stderr)
        return 2
    print(f"revoked {args.key_id}")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    for key in _admin(settings).list():
        print(_describe(key))
    return 0


def _describe(key: ApiKey) -> str:
    created = datetime.fromtimestamp(key.created_at_ms / 1000, UTC).isoformat(timespec="seconds")
    state = "revoked" if key.revoked_at_ms is not None else "active"
    return (
        f"{key.key_id}  {state:7}  programs={','.join(sorted(key.programs))}  "
        f"scopes={','.join(sorted(key.scopes))}  created={created}  label={key.label!r}"
        + (f"  client-cert=sha256:{key.client_cert_sha256}" if key.client_cert_sha256 else "")
    )
