"""`ledger services up|down|status`: the local Kafka cluster and Redis server."""

from __future__ import annotations

import argparse
from typing import Any

from cli.devstack import ServiceStatus, Stack, StackShape
from cli.devstack.regions import RegionsStack
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "services",
        help="start, stop or show the local Kafka broker(s) and Redis server",
        description=(
            "Run a real Kafka (KRaft) and Redis on 127.0.0.1, no Docker: plaintext with one "
            "broker by default; --secure adds TLS, SCRAM users and ACLs (config/access.toml); "
            "--brokers 3 runs a replicated cluster; --regions eu,us runs a broker and a Redis "
            "per region with MirrorMaker 2 between them."
        ),
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start both (idempotent) and wait until they answer")
    add_shape_arguments(up)
    add_regions_argument(up)
    up.set_defaults(handler=_up)
    down = actions.add_parser("down", help="stop what `up` started (any shape), nothing else")
    down.set_defaults(handler=_down)
    status = actions.add_parser("status", help="say what is running")
    status.set_defaults(handler=_status)


def add_shape_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--secure",
        action="store_true",
        help="TLS listeners, a SCRAM user per principal, the broker's ACLs, Redis TLS + users",
    )
    parser.add_argument(
        "--brokers",
        type=int,
        default=1,
        help="Kafka nodes (3: replication factor 3, min.insync.replicas 2)",
    )


def add_regions_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--regions",
        type=lambda raw: [name for name in raw.split(",") if name],
        default=None,
        metavar="eu,us",
        help="one Kafka broker and one Redis per region, and MirrorMaker 2 replicating each "
        'region\'s journal to the others (README "Regions")',
    )


def shape_of(args: argparse.Namespace) -> StackShape:
    return StackShape(secure=args.secure, brokers=args.brokers)


def _up(args: argparse.Namespace, settings: Settings) -> int:
    if args.regions:
        return _up_regions(RegionsStack(settings, args.regions))
    stack = Stack(settings, shape_of(args))
    _print_started(stack.up())
    if stack.shape.secure:
        print(f"Credentials of every principal: {stack.credentials.env_dir}/<principal>.env")
        print(f"  as the operator:  set -a; . {stack.credentials.env_dir}/operator.env; set +a")
        print("  `ledger run --secure` runs each process as its own principal")
        return 0
    print("Use:")
    for name, value in stack.environment().items():
        print(f"  export {name}={value}")
    return 0


def _up_regions(stack: RegionsStack) -> int:
    _print_started(stack.up())
    print("Each region's processes: `ledger run --region <name>`; a shell of one region:")
    for name, value in stack.environment(stack.names[0]).items():
        if name in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL", "LEDGER_REGION", "LEDGER_REGIONS"):
            print(f"  export {name}={value}")
    return 0


def _print_started(services: list[ServiceStatus]) -> None:
    for service in services:
        line = service.describe()
        if service.ready_after_s is None:
            line += "  (already running)"
        else:
            line += f"  (started in {service.ready_after_s:.1f} s)"
        print(line)


def _down(args: argparse.Namespace, settings: Settings) -> int:
    stopped = [name for stack in RegionsStack.every(settings) for name in stack.down()]
    stopped += [name for stack in Stack.every_shape(settings) for name in stack.down()]
    print("stopped: " + ", ".join(stopped) if stopped else "nothing of ours was running")
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    regions = RegionsStack.running(settings)
    if regions is not None:
        print(f"stack    regions {','.join(regions.names)} ({regions.home})")
        region_statuses = regions.status()
        for service in region_statuses:
            print(service.describe())
        return 0 if all(s.answers for s in region_statuses) else 3
    stack = Stack.running(settings) or Stack(settings)
    statuses = stack.status()
    if stack.shape.secure or stack.shape.brokers > 1:
        print(f"stack    {stack.shape.name} ({stack.home})")
    for service in statuses:
        print(service.describe())
    return 0 if all(s.answers for s in statuses) else 3
