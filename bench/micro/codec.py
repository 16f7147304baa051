"""What putting the ledger's values on the wire costs, per record, on one core.

    .venv/bin/python -m bench.micro.codec [--decisions N] [--accounts N]

Events and states come from `decide` over the same mix as bench/micro/decide.py, so their
shapes (postings, lots, receipts) are the core's. For each kind the benchmark times:

- `ours`: what the core does, `WireContracts.encode_*` (domain value -> record -> the writer
  schemas/compiled.py generated from the schema, framing included);
- `fastavro`: the same records written by `fastavro.schemaless_writer` with the parsed schema
  (what the compiled writer replaces), framing left out;
- `to record`: only the domain value -> record dict step both share;
- `decode`: `WireContracts.decode_*` (fastavro's reader, then record -> domain value).

Prints figures; asserts none. The two writers' bytes are compared on every record first: a
benchmark of writers that disagree would measure nothing.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any

from fastavro import schemaless_writer

from bench.micro.decide import SAMPLE_CONFIG, make_requests
from ledger.decide import decide
from ledger.model import AccountState, LedgerEvent
from schemas.contracts import EVENT, STATE, WireContracts
from schemas.records import event_to_record, state_to_record
from settings.programs import load_programs

TOPIC = "bench.codec"
HEADER_BYTES = 10  # single-object framing: 2 marker bytes and the 8-byte fingerprint


def sample(decisions: int, accounts: int) -> tuple[list[LedgerEvent], list[AccountState]]:
    programs = load_programs(SAMPLE_CONFIG)
    states: dict[str, AccountState] = {}
    events = []
    for request, now in make_requests(decisions, accounts, seed=11):
        decision = decide(states.get(request.account_id), request, now, programs)
        states[request.account_id] = decision.state
        events.append(decision.event)
    return events, list(states.values())


def per_record_us(values: Sequence[Any], work: Callable[[Any], object]) -> float:
    started = time.perf_counter()
    for value in values:
        work(value)
    return (time.perf_counter() - started) / len(values) * 1e6


def fastavro_writer(contracts: WireContracts, schema_name: str) -> Callable[[Any], bytes]:
    parsed = contracts.codec.catalogue.current(schema_name).parsed

    def write(record: dict[str, Any]) -> bytes:
        buffer = BytesIO()
        schemaless_writer(buffer, parsed, record, strict_allow_default=False)
        return buffer.getvalue()

    return write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    args = parser.parse_args()
    contracts = WireContracts.for_registry(None)
    events, states = sample(args.decisions, args.accounts)
    kinds: list[tuple[str, Sequence[Any], Callable[..., Any], Callable[..., Any], str]] = [
        ("event", events, event_to_record, contracts.encode_event, EVENT),
        ("state", states, state_to_record, contracts.encode_state, STATE),
    ]
    gc.collect()
    gc.freeze()
    print(f"{len(events)} events, {len(states)} states (µs per record, one core)")
    print(f"{'':8}{'ours':>8}{'fastavro':>10}{'to record':>11}{'decode':>8}{'bytes':>7}")
    for name, values, to_record, encode, schema in kinds:
        theirs = fastavro_writer(contracts, schema)
        records = [to_record(v) for v in values]
        ours = [encode(v, TOPIC) for v in values]
        for mine, record in zip(ours, records, strict=True):
            if mine[HEADER_BYTES:] != theirs(record):
                raise SystemExit(f"the {name} writers disagree on {record}")
        decode = contracts.decode_event if name == "event" else contracts.decode_state

        def encode_one(value: Any, encode: Callable[..., bytes] = encode) -> bytes:
            return encode(value, TOPIC)

        figures = (
            per_record_us(values, encode_one),
            per_record_us(records, theirs) + per_record_us(values, to_record),
            per_record_us(values, to_record),
            per_record_us(ours, decode),
        )
        size = sum(len(b) for b in ours) / len(ours)
        print(
            f"{name:8}{figures[0]:8.1f}{figures[1]:10.1f}{figures[2]:11.1f}{figures[3]:8.1f}"
            f"{size:7.0f}"
        )
    print("fastavro = its writer on the records + the to-record step, so both columns compare")
    print("the whole domain value -> bytes path")


if __name__ == "__main__":
    main()
