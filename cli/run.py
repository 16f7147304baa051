"""`ledger run`: the whole product in the foreground (what `make run` starts)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from typing import Any

from cli.devstack import Stack
from ledger.settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run", help="run the ledger in the foreground on the local stack until Ctrl-C"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    stack = Stack(settings)
    for service in stack.up():
        print(service.describe())
    print("The stack is up. Point clients at:")
    for name, value in stack.environment().items():
        print(f"  {name}={value}")
    print("Press Ctrl-C to stop watching; `ledger services down` stops the stack.")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopping.wait()
    return 0
