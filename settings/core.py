"""The core (`ledger core`): its batches, its transactions, its group and its name."""

from __future__ import annotations

from dataclasses import dataclass

from settings.variables import EnvVar


@dataclass(frozen=True)
class CoreSettings:
    batch_records_max: int = 5000
    # How long a batch gathers from its first record (processors/batching.py): a few ms
    # bound the latency it adds and still batch moderate rates; a backlog fills batches at once.
    batch_time_max_ms: int = 5
    # Largest record the core writes (key + value + headers); its producer is allowed 100 000
    # bytes more, which must stay within the broker's message.max.bytes (1 048 588 by default).
    record_bytes_max: int = 900_000
    core_group_id: str = "ledger-core"
    # Names this process to Kafka: its transactional.id and static group membership. A
    # restarted process with the same id fences its predecessor and takes its partitions
    # back at once; two live processes must never share one. Default: host name + pid.
    instance_id: str | None = None
    transaction_timeout_ms: int = 10000
    session_timeout_ms: int = 10000
    core_metrics_port: int = 9101
    # Where the core keeps its partitions' state on disk (RocksDB, one store per partition
    # under <state_dir>/<instance id>/), so a restart replays only the changelog's tail.
    # None: in memory, restored from the whole changelog on every assignment.
    state_dir: str | None = None
    # Accounts kept decoded in memory by the disk stores of one core process, shared evenly
    # by the partitions it owns (the disk holds all of them).
    state_cache_accounts: int = 200_000
    # Testing only: "STEP:N" makes the core SIGKILL itself at STEP of its Nth transaction
    # (processors/core/crashpoints.py), so tests can crash it at every step of a commit.
    crash_at: str | None = None


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("LEDGER_BATCH_RECORDS_MAX", "batch_records_max", int, "records per transaction"),
    EnvVar(
        "LEDGER_BATCH_TIME_MAX_MS",
        "batch_time_max_ms",
        int,
        "how long a batch gathers records after its first",
    ),
    EnvVar(
        "LEDGER_RECORD_BYTES_MAX",
        "record_bytes_max",
        int,
        "largest record the core writes; a larger outcome is refused (output_too_large)",
    ),
    EnvVar("LEDGER_CORE_GROUP_ID", "core_group_id", str, "consumer group of the core"),
    EnvVar(
        "LEDGER_CRASH_AT",
        "crash_at",
        str,
        "testing only: STEP:N kills the core at STEP of its Nth transaction",
    ),
    EnvVar(
        "LEDGER_STATE_CACHE_ACCOUNTS",
        "state_cache_accounts",
        int,
        "accounts a core keeps decoded in memory with LEDGER_STATE_DIR (all partitions)",
    ),
    EnvVar(
        "LEDGER_STATE_DIR",
        "state_dir",
        str,
        "directory of the core's state on disk (unset: in memory, restored in full)",
    ),
    EnvVar(
        "LEDGER_INSTANCE_ID",
        "instance_id",
        str,
        "this process's transactional.id and static member id (default host-pid)",
    ),
    EnvVar(
        "LEDGER_TRANSACTION_TIMEOUT_MS",
        "transaction_timeout_ms",
        int,
        "a dead processor's open transaction is aborted after this",
    ),
    EnvVar(
        "LEDGER_SESSION_TIMEOUT_MS",
        "session_timeout_ms",
        int,
        "a silent processor loses its partitions after this",
    ),
    EnvVar(
        "LEDGER_CORE_METRICS_PORT",
        "core_metrics_port",
        int,
        "port of the core's Prometheus /metrics, 0 for none",
        minimum=0,
    ),
)
