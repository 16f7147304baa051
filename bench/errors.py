"""The root of the benchmarks' expected failures: a run that cannot go on says why in one line.

BenchError
 ├── MixError        `--mix` cannot be parsed (also a ValueError, for argparse)
 ├── ProduceFailed   the workload could not be produced
 ├── WatchFailed     outcomes could not be watched
 ├── PhaseFailed     a measured phase did not complete
 └── CeilingError    Kafka's perf tools could not measure the ceiling
"""

from __future__ import annotations


class BenchError(Exception):
    """Root of the benchmarks' expected failures."""
