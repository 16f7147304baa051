"""`ledger services up|down|status`: the local Kafka broker and Redis server."""

from __future__ import annotations

import argparse
from typing import Any

from cli.devstack import Stack
from ledger.settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "services",
        help="start, stop or show the local Kafka broker and Redis server",
        description="Run a real single-node Kafka (KRaft) and Redis on 127.0.0.1, no Docker.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start both (idempotent) and wait until they answer")
    up.set_defaults(handler=_up)
    down = actions.add_parser("down", help="stop what `up` started, nothing else")
    down.set_defaults(handler=_down)
    status = actions.add_parser("status", help="say what is running")
    status.set_defaults(handler=_status)


def _up(args: argparse.Namespace, settings: Settings) -> int:
    stack = Stack(settings)
    for service in stack.up():
        line = service.describe()
        if service.ready_after_s is None:
            line += "  (already running)"
        else:
            line += f"  (started in {service.ready_after_s:.1f} s)"
        print(line)
    print("Use:")
    for name, value in stack.environment().items():
        print(f"  export {name}={value}")
    return 0


def _down(args: argparse.Namespace, settings: Settings) -> int:
    stopped = Stack(settings).down()
    print("stopped: " + ", ".join(stopped) if stopped else "nothing of ours was running")
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    statuses = Stack(settings).status()
    for service in statuses:
        print(service.describe())
    return 0 if all(s.answers for s in statuses) else 3
