"""`ledger run`: the whole product in the foreground (what `make run` starts).

Starts the local stack if it is not running, makes sure the topics exist, then supervises
the ledger's processes until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import socket
from typing import Any

from confluent_kafka.admin import AdminClient

from cli.devstack import Stack
from cli.notify import partners_configured
from cli.supervisor import Supervisor
from ledger.settings import Settings
from processors.topics import ensure_topics, ledger_topics


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the whole ledger in the foreground on the local stack until Ctrl-C",
        description=(
            "Starts Kafka and Redis (`ledger services up`) unless KAFKA_BOOTSTRAP_SERVERS "
            "points elsewhere, ensures the topics, then runs and supervises the ledger's "
            "processes, restarting any that dies. Ctrl-C stops them cleanly; the stack keeps "
            "running (`ledger services down` stops it)."
        ),
    )
    parser.set_defaults(handler=_run)


def ledger_processes(instance: str) -> dict[str, list[str]]:
    """The processes of a complete ledger, by name: argv of `ledger` for each."""
    return {
        "core": ["core", "--instance-id", f"{instance}-core"],
        "mirror": ["mirror", "--instance-id", f"{instance}-mirror"],
        "auditor": ["auditor"],
        "gateway": ["gateway"],
    }


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        stack = Stack(settings)
        for service in stack.up():
            print(f"[run] {service.describe()}")
    report = ensure_topics(AdminClient(settings.kafka_config()), ledger_topics(settings))
    print(f"[run] topics ready under {settings.topic_prefix!r} ({len(report.created)} created)")
    print(f"[run] Kafka {settings.kafka_bootstrap_servers}, Redis {settings.redis_url}")
    children = ledger_processes(socket.gethostname())
    if partners_configured(settings):
        children["notify"] = ["notify", "run"]
    env = dict(os.environ)
    env.setdefault("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers)
    env.setdefault("REDIS_URL", settings.redis_url)
    print(f"[run] running {', '.join(children)}; Ctrl-C stops them")
    print(f"[run] HTTP API on http://{settings.gateway_host}:{settings.gateway_port} (docs: /docs)")
    return Supervisor(children, env).run()
