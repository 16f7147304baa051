"""`ledger core`: run one exactly-once processor of the ledger core in the foreground."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import replace
from typing import Any

from confluent_kafka import KafkaException

from cli.errors import CliError
from cli.logs import configure_logging
from cli.metrics_server import serve_metrics
from processors.core.loop import CoreProcessor
from processors.core.report import StatusReporter
from schemas.contracts import WireContracts
from schemas.program_feed import ProgramFeed, ProgramFeedError
from schemas.program_writer import ProgramWriteConflict, follow_programs
from settings import Settings
from settings.programs import load_program_tables

STATUS_INTERVAL_S = 10.0
PROGRAMS_ATTEMPTS = 12
PROGRAMS_RETRY_S = 5.0
CORE_CATCH_UP_TIMEOUT_S = 2.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "core",
        help="apply requests exactly once (consume -> decide -> produce in Kafka transactions)",
        description=(
            "Runs one processor of the ledger core. Several processors share the partitions "
            "of the requests topic through the consumer group; each batch of requests is one "
            "Kafka transaction holding its journal events, changelog states, forwarded "
            "requests, dead letters and consumed offsets. Stops cleanly on SIGTERM or Ctrl-C."
        ),
    )
    parser.add_argument(
        "--instance-id",
        help="transactional.id suffix and static group member id; must be unique among live "
        "processors and stable across restarts of the same one "
        "(env LEDGER_INSTANCE_ID; default: <host>-<pid>)",
    )
    parser.add_argument(
        "--batch-records-max",
        type=int,
        help="records per transaction at most (env LEDGER_BATCH_RECORDS_MAX, default 5000)",
    )
    parser.add_argument(
        "--batch-time-max-ms",
        type=int,
        help="how long a batch gathers records after its first "
        "(env LEDGER_BATCH_TIME_MAX_MS, default 5)",
    )
    parser.add_argument(
        "--programs",
        help="programs configuration file (env LEDGER_PROGRAMS_CONFIG, "
        "default config/programs.toml)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus /metrics on this port, 0 for none "
        "(env LEDGER_CORE_METRICS_PORT, default 9101)",
    )
    parser.add_argument(
        "--status-interval",
        type=float,
        default=STATUS_INTERVAL_S,
        help="seconds between status lines (default %(default)s; 0 turns them off)",
    )
    parser.set_defaults(handler=_core)


def _core(args: argparse.Namespace, settings: Settings) -> int:
    settings = replace(
        settings,
        instance_id=args.instance_id or settings.instance_id,
        batch_records_max=args.batch_records_max or settings.batch_records_max,
        batch_time_max_ms=args.batch_time_max_ms or settings.batch_time_max_ms,
        programs_config=args.programs or settings.programs_config,
    )
    configure_logging(settings.log_format)
    instance_id = settings.instance_id or f"{socket.gethostname()}-{os.getpid()}"
    feed = _follow_programs(settings, instance_id)
    processor = CoreProcessor(
        settings,
        feed,
        WireContracts.for_registry(settings.schema_registry_url),
        instance_id,
    )
    serve_metrics(
        args.metrics_port if args.metrics_port is not None else settings.core_metrics_port,
        settings.metrics_host,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    reporter = StatusReporter(processor, args.status_interval, stop)
    reporter.start()
    logging.getLogger("ledger.core").info(
        "core %s consuming %s as group %s",
        instance_id,
        ", ".join(settings.topics.inputs),
        settings.core_group_id,
    )
    try:
        processor.run(stop)
    finally:
        reporter.join()
        feed.close()
    return 0


def _follow_programs(settings: Settings, instance_id: str) -> ProgramFeed:
    """The programs topic, seeded from the programs file if it lacks any; Kafka may still be
    starting (`ledger run` starts everything at once), so this waits for it a while."""
    tables = load_program_tables(settings.programs_config)
    for attempt in range(PROGRAMS_ATTEMPTS):
        try:
            feed, _ = follow_programs(
                settings.kafka_config(),
                settings.topics.programs,
                settings.topics.programs_writer_id,
                tables,
                f"core:{instance_id}",
                # A batch waits this long at most for the programs topic (a failover).
                CORE_CATCH_UP_TIMEOUT_S,
            )
            return feed
        except (ProgramFeedError, ProgramWriteConflict, KafkaException) as error:
            if attempt == PROGRAMS_ATTEMPTS - 1:
                raise CliError(f"programs topic {settings.topics.programs}: {error}") from None
            logging.getLogger("ledger.core").warning("programs not read yet (%s); retrying", error)
            time.sleep(PROGRAMS_RETRY_S)
    raise AssertionError("unreachable")
