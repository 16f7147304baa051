"""The peer: the same job on Faust's own `exactly_once` mode, written as simply as it can be.

One agent over the requests topic and one Table of accounts (the bench model's JSON value,
see model.py): decode the Avro request with the project's `WireContracts`, decide with the
model, store the account, and send an outcome record. In `exactly_once` mode Faust wraps
the table's changelog writes, the outcome and the consumed offsets in one transaction per
partition, which is what the bench puts to the test: if a request were applied twice or
lost, the final balances in the changelog would not be the model's.

It does less than the core (no lots, expiries, double entry, DLQ, forwarding, journal
of full events), so its throughput is an upper bound for a Faust ledger, not a like-for-like
figure; the bench says so in its report.

Run as a child process: `python -m bench.faust_app`, configured by the
environment variables listed in `PeerConfig.from_env` (the bench sets them).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.kit.model import ModelAccount, ModelRequest
from schemas.contracts import WireContracts
from schemas.exceptions import MalformedBodyError

TABLE = "accounts"


@dataclass(frozen=True)
class PeerConfig:
    bootstrap_servers: str
    app_id: str
    requests_topic: str
    outcomes_topic: str
    partitions: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PeerConfig:
        return cls(
            bootstrap_servers=environ["BENCH_PEER_BOOTSTRAP"],
            app_id=environ["BENCH_PEER_APP_ID"],
            requests_topic=environ["BENCH_PEER_REQUESTS_TOPIC"],
            outcomes_topic=environ["BENCH_PEER_OUTCOMES_TOPIC"],
            partitions=int(environ["BENCH_PEER_PARTITIONS"]),
        )

    def env(self) -> dict[str, str]:
        return {
            "BENCH_PEER_BOOTSTRAP": self.bootstrap_servers,
            "BENCH_PEER_APP_ID": self.app_id,
            "BENCH_PEER_REQUESTS_TOPIC": self.requests_topic,
            "BENCH_PEER_OUTCOMES_TOPIC": self.outcomes_topic,
            "BENCH_PEER_PARTITIONS": str(self.partitions),
        }

    @property
    def datadir(self) -> Path:
        """Faust's local data (memory store: only its bookkeeping); removed after a run."""
        return Path(tempfile.gettempdir()) / "ledger-bench-peer" / self.app_id

    @property
    def changelog_topic(self) -> str:
        """Faust's name for the table's changelog: where the peer's final balances are."""
        return f"{self.app_id}-{TABLE}-changelog"


def create_app(config: PeerConfig, contracts: WireContracts) -> Any:
    import faust  # heavy, and only the peer process needs it

    datadir = config.datadir
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        config.app_id,
        broker=f"kafka://{config.bootstrap_servers}",
        processing_guarantee="exactly_once",
        store="memory://",
        topic_partitions=config.partitions,
        web_enabled=False,
        datadir=str(datadir),
        consumer_auto_offset_reset="earliest",
    )
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    requests = app.topic(config.requests_topic, **raw)
    outcomes = app.topic(config.outcomes_topic, partitions=config.partitions, **raw)
    accounts = app.Table(TABLE, partitions=config.partitions, schema=faust.Schema(**raw))

    @app.agent(requests)
    async def apply_requests(stream: Any) -> None:
        async for key, value in stream.items():
            try:
                request = contracts.decode_request(value)
            except MalformedBodyError:
                continue  # the bench sends no garbage; a real peer would dead-letter it
            account = ModelAccount.from_json(accounts.get(key))
            outcome = account.apply(
                ModelRequest(
                    request.request_id,
                    request.account_id,
                    request.operation.value,
                    request.asset,
                    request.amount,
                    reference=request.reference,
                    reason=request.reason,
                )
            )
            accounts[key] = account.to_json()
            message = [request.request_id, outcome.status, outcome.reason]
            await outcomes.send(key=key, value=json.dumps(message).encode())

    return app


def main() -> int:
    import faust

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    config = PeerConfig.from_env(os.environ)
    app = create_app(config, WireContracts.for_registry(None))
    worker = faust.Worker(app, loglevel="warning", quiet=True)
    try:
        worker.execute_from_commandline()
    except SystemExit as stopped:
        return int(stopped.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
