"""The `ledger` command: one subcommand per module, dispatched here.

Each command module exposes `register(subparsers)` which adds its parser and sets
`handler(args, settings) -> int`. Settings are read from the environment exactly once, here.
Expected failures print one line on stderr and exit 2; only programmer errors show a
traceback. They are the roots of each package's errors, each drawn in its package: cli's
CliError (cli/errors.py), SettingsError, ConfigError (ledger), ProcessorError, CodecError
(schemas), ReadModelError, BenchError, and what the outside world answers (a broker:
KafkaException; Redis: RedisError).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from confluent_kafka import KafkaException
from redis.exceptions import RedisError

from bench.errors import BenchError
from cli import (
    accounts,
    acl,
    audit,
    auditor,
    balances,
    bench,
    bench_regions,
    core,
    extension,
    gateway,
    keys,
    mirror,
    notify,
    programs,
    rebuild,
    relay,
    replay,
    run,
    services,
    topics,
    tx,
)
from cli.errors import CliError
from ledger.programs import ConfigError
from processors.errors import ProcessorError
from readmodel.errors import ReadModelError
from schemas.exceptions import CodecError
from settings import Settings, SettingsError

COMMANDS = (
    services,
    topics,
    acl,
    core,
    rebuild,
    run,
    mirror,
    relay,
    auditor,
    extension,
    replay,
    audit,
    balances,
    gateway,
    keys,
    tx,
    accounts,
    programs,
    notify,
    bench,
    bench_regions,
)
EXPECTED_FAILURES = (
    CliError,
    BenchError,
    ReadModelError,
    SettingsError,
    ConfigError,
    ProcessorError,
    CodecError,
    KafkaException,
    RedisError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="Kafka-native, exactly-once ledger for reward and loyalty programs.",
        epilog="Configuration comes from environment variables; see README.md.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        code: int = args.handler(args, settings)
    except EXPECTED_FAILURES as error:
        print(f"ledger: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
