"""A small `ledger bench` run, as a user would start it: the result file is complete and true.

No timing is asserted (this machine is shared); what is asserted is that every figure the
README table is made of is there, that the counts agree with each other, and that the
journal folds to the balances the bench's own model expects, for us and for the Faust peer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis
from confluent_kafka.admin import AdminClient

from settings import Settings
from tests.infrastructure import Infrastructure

ROOT = Path(__file__).resolve().parents[3]
REQUESTS = 2_000
RUN_TIMEOUT_S = 300

OURS_FIELDS = {
    "end_to_end", "freshness_path", "processors", "error", "ready_s", "processor_usage",
    "processor_cpu_s", "processor_peak_rss_mb", "requests", "journal_events", "redis_outcomes",
    "complete", "produce_s", "elapsed_s", "requests_per_s", "core_cpu_us_per_request",
    "mirror_cpu_us_per_request",
    "journal_freshness", "freshness", "balances_verified", "outcomes_verified",
    "accounts_checked", "outcome_counts", "mismatches", "ratio_of_ceiling",
    "journal_requests_per_s",
}  # fmt: skip
CEILING_FIELDS = {
    "records", "record_bytes", "partitions", "produce_records_per_s", "produce_mb_per_s",
    "consume_records_per_s", "consume_records_per_s_with_join", "records_per_s",
}  # fmt: skip
PEER_FIELDS = {
    "name", "error", "requests", "outcomes", "complete", "elapsed_s", "requests_per_s",
    "freshness", "cpu_s", "peak_rss_mb", "balances_verified", "outcomes_verified",
    "balances_equal_ours", "outcome_counts",
}  # fmt: skip
FRESHNESS_FIELDS = {"p50_ms", "p99_ms", "max_ms", "measured"}


def _bench(
    infrastructure: Infrastructure, out: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "KAFKA_"))}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=infrastructure.kafka_bootstrap_servers,
        REDIS_URL=infrastructure.redis_url,
        LEDGER_DEVSTACK_DIR=os.environ.get("LEDGER_DEVSTACK_DIR", str(ROOT / ".devstack")),
    )
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "bench", "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def test_a_small_bench_run_writes_a_complete_verified_result(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    out = tmp_path / "bench-result.json"
    done = _bench(
        infrastructure, out,
        "--requests", str(REQUESTS), "--accounts", "200", "--partitions", "3",
        "--processors", "1", "--ceiling-records", "5000", "--peer", "faust-eos",
        "--stall-timeout", "60", "--http-seconds", "2", "--gateway-workers", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())

    assert result["balances_verified"] is True
    ours = result["ours"]
    assert ours.keys() >= OURS_FIELDS, OURS_FIELDS - ours.keys()
    assert ours["error"] is None and ours["complete"] is True
    assert ours["outcomes_verified"] is True and ours["mismatches"] == []
    assert ours["requests"] == REQUESTS == result["workload"]["records"]
    assert ours["journal_events"] == REQUESTS
    assert sum(result["workload"]["kinds"].values()) == REQUESTS
    assert ours["outcome_counts"] == result["workload"]["expected_outcomes"]
    assert sum(ours["outcome_counts"].values()) == REQUESTS
    assert ours["accounts_checked"] == 200
    assert ours["requests_per_s"] > 0 and ours["processor_cpu_s"] > 0
    assert ours["core_cpu_us_per_request"] > 0
    assert ours["processor_peak_rss_mb"] > 0
    assert ours["freshness"].keys() >= FRESHNESS_FIELDS
    assert ours["journal_freshness"]["measured"] == REQUESTS
    if ours["end_to_end"] == "redis":  # `ledger mirror` exists
        assert ours["redis_outcomes"] == REQUESTS
        assert ours["freshness"]["measured"] == REQUESTS
        assert ours["mirror_cpu_us_per_request"] > 0

    http = result["http"]
    assert http["workers"] == 2 and "error" not in http, http
    assert [run["name"] for run in http["runs"]] == [
        "GET /healthz",
        "GET balances",
        "POST (wait for outcome)",
    ]
    for run in http["runs"]:
        assert run["requests"] > 0 and run["gateway_cpu_s"] > 0, run
    assert set(http["runs"][1]["answers"]) == {"200"}  # JSON keys: wrk's statuses
    assert set(http["runs"][2]["answers"]) <= {"201", "202"}
    assert "gateway x2: GET balances" in done.stdout

    ceiling = result["ceiling"]
    assert ceiling.keys() >= CEILING_FIELDS, ceiling
    assert ceiling["records"] == 5000 and ceiling["partitions"] == 3
    assert ceiling["record_bytes"] == (
        result["workload"]["key_bytes_mean"] + result["workload"]["value_bytes_mean"]
    )
    assert ours["ratio_of_ceiling"] > 0

    peer = result["peer"]
    assert peer.keys() >= PEER_FIELDS, PEER_FIELDS - peer.keys()
    assert peer["error"] is None, peer.get("log_tail")
    assert peer["outcomes"] == REQUESTS
    assert peer["balances_verified"] is True and peer["balances_equal_ours"] is True
    assert peer["outcome_counts"] == result["workload"]["expected_outcomes"]

    assert "requests/s" in done.stdout and "peer faust-eos" in done.stdout


def test_a_run_leaves_no_topics_or_keys_behind(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    out = tmp_path / "bench-result.json"
    done = _bench(
        infrastructure, out,
        "--requests", "300", "--accounts", "30", "--partitions", "2", "--no-ceiling",
        "--no-mirror",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["ours"]["end_to_end"] == "journal"
    assert result["ceiling"] is None and result["balances_verified"] is True

    settings = Settings(
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        redis_url=infrastructure.redis_url,
    )
    topics = AdminClient(settings.kafka_config()).list_topics(timeout=30).topics
    assert not [name for name in topics if name.startswith(result["topic_prefix"])]
    client = redis.Redis.from_url(settings.redis_url)
    try:
        assert not list(client.scan_iter(match=f"bench-{result['run_id']}:*"))
    finally:
        client.close()
