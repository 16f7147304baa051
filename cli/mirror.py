"""`ledger mirror`: mirror the journal into Redis (processors/readside/mirror.py)."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import socket
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import redis

from cli.logs import configure_logging
from cli.metrics_server import serve_metrics
from processors.readside.mirror import MirrorLoop, mirror_group_id
from processors.regions.links import LinkWatch
from schemas.contracts import WireContracts
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mirror",
        help="mirror the journal into Redis (balances, history, statuses, totals), live",
        description=(
            "Follows the journal read_committed in batches, applies each batch to Redis with "
            "one Lua script (idempotent, ordered by offset and account sequence), publishes "
            "request outcomes, heals gaps and rebuilds the model when Redis loses it; a batch "
            "Redis does not take is tried again, never skipped. Several mirrors share the "
            "journal's partitions (give each one its own --instance-id). Stops cleanly on "
            "SIGTERM or Ctrl-C."
        ),
    )
    parser.add_argument(
        "--instance-id",
        help="static group member id, the same across restarts so a restarted mirror takes "
        "its partitions back at once (env LEDGER_INSTANCE_ID; default: the host name)",
    )
    parser.add_argument("--loglevel", default="info", help="log level (default %(default)s)")
    parser.set_defaults(handler=_mirror)


def _mirror(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format, logging.getLevelName(args.loglevel.upper()))
    # `kill -USR1 <pid>` prints every thread's stack: what a stuck mirror is waiting for.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    serve_metrics(settings.mirror_metrics_port, settings.metrics_host)
    instance_id = args.instance_id or settings.instance_id or socket.gethostname()
    contracts = WireContracts.for_registry(settings.schema_registry_url)
    client = redis.Redis.from_url(settings.redis_url)
    # This region's journal, and in a region each other region's journal as copied here.
    sources = ["", *settings.other_regions]
    journals = [settings.journal_copy(source) if source else settings for source in sources]
    loops = [
        MirrorLoop(
            journal,
            contracts,
            client,
            f"{instance_id}-from-{source}" if source else instance_id,
            source_region=source,
            reply_prefix=settings.redis_key_prefix,
        )
        for source, journal in zip(sources, journals, strict=True)
    ]
    # And how fresh each link from another region is (MirrorMaker 2's heartbeats).
    watches = [LinkWatch(settings, client, source) for source in settings.other_regions]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for journal in journals:
        logging.getLogger("ledger.mirror").info(
            "mirror %s following %s as group %s into %s",
            instance_id,
            journal.topics.events,
            mirror_group_id(journal),
            journal.redis_key_prefix,
        )
    return run_all([*loops, *watches], stop)


class Loop(Protocol):
    topic: str

    def run(self, stop: threading.Event) -> None: ...


def run_all(loops: Sequence[Loop], stop: threading.Event) -> int:
    """Each loop in a thread of its own; the first to fail stops the others and fails the
    process (which is restarted), so a copy that cannot be mirrored is never silently left."""
    failures: list[BaseException] = []

    def run(loop: Loop) -> None:
        try:
            loop.run(stop)
        except BaseException as error:
            failures.append(error)
            stop.set()

    threads = [threading.Thread(target=run, args=(loop,), name=loop.topic) for loop in loops]
    for thread in threads[1:]:
        thread.start()
    run(loops[0])
    for thread in threads[1:]:
        thread.join()
    if failures:
        raise failures[0]
    return 0
