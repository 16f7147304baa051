"""The root of every failure the `ledger` command expects (printed as one line, exit 2).

    CliError
     ├── DevstackError    the local stack cannot start or stop (devstack/)
     └── AccessError      the access file cannot be used or applied (access/)

cli/main.py also prints the other packages' roots as one line: SettingsError (settings),
ConfigError (ledger), ProcessorError (processors), CodecError (schemas), ReadModelError
(readmodel), BenchError (bench), and what the outside world answers (KafkaException,
RedisError). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CliError(Exception):
    """Root of the command's expected failures; the message says what to do."""
