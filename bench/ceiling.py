"""The broker's ceiling on this machine: Kafka's own perf tools, from the broker's own jars.

`ProducerPerformance` (acks=all, full speed) writes records of the workload's mean size to a
topic with as many partitions as the ledger's, then `ConsumerPerformance` reads them back.
The JVM tools do no work per record, so their rates bound what any processor can reach:
the ledger's throughput is reported as a fraction of the lower of the two.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError

TOOL_TIMEOUT_S = 600
CONSUMER_IDLE_TIMEOUT_MS = 60_000
PRODUCER_SUMMARY = re.compile(
    r"(?P<records>\d+) records sent, (?P<rate>[\d.]+) records/sec \((?P<mb>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th"
)


class CeilingError(BenchError):
    """A perf tool failed or printed something this parser does not understand."""


@dataclass(frozen=True)
class Ceiling:
    records: int
    record_bytes: int
    partitions: int
    produce_records_per_s: float
    produce_mb_per_s: float
    produce_latency_p99_ms: float
    consume_records_per_s: float  # fetch rate: from the first fetch to the last record
    consume_records_per_s_with_join: float  # includes joining the consumer group
    consume_mb_per_s: float

    @property
    def records_per_s(self) -> float:
        """What a consume -> produce pipeline could at most do: the slower of the two."""
        return min(self.produce_records_per_s, self.consume_records_per_s)


def measure_ceiling(
    java: str,
    libs: Path,
    bootstrap: str,
    topic: str,
    records: int,
    record_bytes: int,
    partitions: int,
) -> Ceiling:
    classpath = f"{libs}/*"
    produced = _run(
        [
            java,
            "-cp",
            classpath,
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(record_bytes),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            "acks=all",
        ]
    )
    summary = parse_producer_summary(produced)
    consumed = parse_consumer_report(
        _run(
            [
                java,
                "-cp",
                classpath,
                "org.apache.kafka.tools.ConsumerPerformance",
                "--bootstrap-server",
                bootstrap,
                "--topic",
                topic,
                "--messages",
                str(records),
                "--timeout",
                str(CONSUMER_IDLE_TIMEOUT_MS),
            ]
        )
    )
    if int(consumed["data.consumed.in.nMsg"]) < records:
        raise CeilingError(f"ConsumerPerformance read {consumed['data.consumed.in.nMsg']} records")
    return Ceiling(
        records=records,
        record_bytes=record_bytes,
        partitions=partitions,
        produce_records_per_s=float(summary["rate"]),
        produce_mb_per_s=float(summary["mb"]),
        produce_latency_p99_ms=float(summary["p99"]),
        consume_records_per_s=float(consumed["fetch.nMsg.sec"]),
        consume_records_per_s_with_join=float(consumed["nMsg.sec"]),
        consume_mb_per_s=float(consumed["MB.sec"]),
    )


def parse_producer_summary(output: str) -> dict[str, str]:
    """The final summary line of ProducerPerformance (the last of its progress lines)."""
    matches = list(PRODUCER_SUMMARY.finditer(output))
    if not matches:
        raise CeilingError(f"no summary in ProducerPerformance output: {output[-500:]!r}")
    return matches[-1].groupdict()


def parse_consumer_report(output: str) -> dict[str, str]:
    """ConsumerPerformance prints a CSV header line and one line of figures."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for n, line in enumerate(lines[:-1]):
        if line.startswith("start.time"):
            names = [name.strip() for name in line.split(",")]
            values = [value.strip() for value in lines[n + 1].split(",")]
            if len(names) == len(values):
                return dict(zip(names, values, strict=True))
    raise CeilingError(f"no report in ConsumerPerformance output: {output[-500:]!r}")


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise CeilingError(f"{argv[3]} did not finish in {TOOL_TIMEOUT_S} s") from error
    if done.returncode != 0:
        raise CeilingError(f"{argv[3]} exited {done.returncode}: {done.stderr[-1000:]}")
    return done.stdout
