"""Programs and assets at run time, on the real stack: created, extended and changed through the
admin API while the core runs, refused with the programs file's errors, used the moment they
exist, and every journal event names the version it was decided with; a change made while
requests flow splits each partition's journal cleanly at that version."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from reward_ledger_client import LedgerClient, LedgerError, Rejected

from bench.kit.kafka_io import read_topic
from gateway.auth import Scope
from ledger.model import LedgerEvent
from schemas.contracts import WireContracts
from tests.integration.gateway.conftest import Ledger, account
from tests.support.processes import ROOT, settings_env

POINTS = {"kind": "points", "scale": 0, "transferable": True, "amount_max": 1000}


def _program() -> str:
    return f"p{uuid.uuid4().hex[:10]}"


def _journal(ledger: Ledger, program: str, expected: int) -> list[tuple[int, LedgerEvent]]:
    """(partition, event) of the program's journal events, each partition in offset order."""
    contracts = WireContracts.for_registry(None)
    found = []
    for message in read_topic(ledger.settings, ledger.settings.topics.events, expected, 60):
        event = contracts.decode_event(message.value() or b"")
        if event.program == program:
            found.append((message.partition() or 0, message.offset() or 0, event))
    found.sort(key=lambda item: (item[0], item[1]))
    return [(partition, event) for partition, _, event in found]


def test_programs_change_through_the_api_and_events_name_their_version(ledger: Ledger) -> None:
    name = _program()
    token = ledger.key(Scope.PROGRAMS_ADMIN, Scope.ADMIN, programs=(name,))
    ann = account()
    with LedgerClient(ledger.url, token) as client:
        created = client.create_program(name, {"assets": {"points": POINTS}})
        assert (created.version, created.change) == (1, "create")
        # Used at once: the gateway and the core catch up before calling a program unknown.
        assert client.accrue(name, ann, "points", 100).status == "APPLIED"
        added = client.add_asset(name, "gems", {**POINTS, "transferable": False})
        assert added.version == 2
        assert client.accrue(name, ann, "gems", 7).status == "APPLIED"
        limited = client.change_asset(name, "points", {"amount_max": 50})
        assert limited.version == 3
        with pytest.raises(Rejected) as rejected:
            client.accrue(name, ann, "points", 100)
        assert rejected.value.code == "amount_exceeds_limit"
        # Asking again for what is already so writes no version (a retried change is harmless).
        assert client.change_asset(name, "points", {"amount_max": 50}).version == 3
        with pytest.raises(LedgerError) as stale:
            client.change_asset(name, "points", {"amount_max": 60}, if_version=2)
        assert (stale.value.status, stale.value.code) == (412, "version_conflict")
        versions = client.program_versions(name)
        assert [(v.version, v.change) for v in versions] == [
            (1, "create"),
            (2, "add_asset"),
            (3, "change_asset"),
        ]
        assert versions[-1].definition["assets"]["points"]["amount_max"] == 50
        assert name in {p.program for p in client.programs()}

    events = [event for _, event in _journal(ledger, name, 3)]
    assert [(e.request.asset, e.status.value, e.program_version) for e in events] == [
        ("points", "APPLIED", 1),
        ("gems", "APPLIED", 2),
        ("points", "REJECTED", 3),
    ]


def test_invalid_changes_are_refused_with_the_files_errors(ledger: Ledger) -> None:
    name = _program()
    token = ledger.key(Scope.PROGRAMS_ADMIN, programs=(name,))
    with ledger.client(token) as client:

        def problem(answer: httpx.Response) -> tuple[int, str, Any]:
            body = answer.json()
            return answer.status_code, body["code"], body.get("key")

        bad_scale = {"assets": {"points": {**POINTS, "scale": 40}}}
        answer = client.post("/v1/programs", json={"program": name, "definition": bad_scale})
        assert problem(answer) == (422, "program_invalid", f"programs.{name}.assets.points.scale")
        assert "must be between 0 and 18, got 40" in answer.json()["detail"]
        typo = {"assets": {"points": {**POINTS, "amount_mx": 5}}}
        answer = client.post("/v1/programs", json={"program": name, "definition": typo})
        assert problem(answer) == (
            422,
            "program_invalid",
            f"programs.{name}.assets.points.amount_mx",
        )

        good = {"assets": {"points": POINTS}}
        assert (
            client.post("/v1/programs", json={"program": name, "definition": good}).status_code
            == 201
        )
        retried = client.post("/v1/programs", json={"program": name, "definition": good})
        assert (retried.status_code, retried.json()["version"]) == (200, 1)  # the same creation
        other = {"assets": {"points": {**POINTS, "amount_max": 7}}}
        again = client.post("/v1/programs", json={"program": name, "definition": other})
        assert problem(again)[:2] == (409, "program_conflict")
        twice = f'{{"program": "{name}", "definition": {{}}, "definition": {{"assets": {{}}}}}}'
        doubled = client.post(
            "/v1/programs", content=twice, headers={"Content-Type": "application/json"}
        )
        assert doubled.status_code == 400  # a key given twice is ambiguous: refused
        longer = client.patch(f"/v1/programs/{name}", json={"idempotency_window": "30d"})
        assert problem(longer) == (422, "program_invalid", f"programs.{name}.idempotency_window")
        path = f"/v1/programs/{name}/assets/points"
        rescaled = client.patch(path, json={"scale": 2})
        assert problem(rescaled) == (422, "program_invalid", f"programs.{name}.assets.points.scale")
        negative = client.patch(path, json={"lot_lifetime": "-1d"})
        assert problem(negative) == (
            422,
            "program_invalid",
            f"programs.{name}.assets.points.lot_lifetime",
        )
        assert client.patch(f"/v1/programs/{name}/assets/nope", json={}).status_code == 404
        assert client.get(f"/v1/programs/{name}").json()["version"] == 1  # nothing was written

    reader = ledger.key(Scope.ADMIN, programs=(name,))
    with ledger.client(reader) as client:
        assert client.get(f"/v1/programs/{name}").status_code == 200  # its own program
        refused = client.patch(f"/v1/programs/{name}/assets/points", json={"amount_max": 1})
        assert (refused.status_code, refused.json()["code"]) == (403, "scope_missing")
        assert client.get("/v1/programs/acme").status_code == 404  # not its program


def test_a_change_made_while_requests_flow_splits_each_partition_at_its_version(
    ledger: Ledger,
) -> None:
    name = _program()
    token = ledger.key(Scope.PROGRAMS_ADMIN, Scope.ADMIN, programs=(name,))
    accounts = [account() for _ in range(12)]
    stop = threading.Event()
    sent = [0]

    def flow() -> None:
        with LedgerClient(ledger.url, token) as client:
            while not stop.is_set():
                bodies: list[Mapping[str, Any]] = [
                    {"operation": "ACCRUE", "account_id": a, "asset": "points", "amount": 100}
                    for a in accounts
                ]
                client.batch(name, bodies)
                sent[0] += len(bodies)

    with LedgerClient(ledger.url, token) as admin:
        admin.create_program(name, {"assets": {"points": POINTS}})
        writer = threading.Thread(target=flow)
        writer.start()
        try:
            _wait(lambda: sent[0] >= 120)
            admin.change_asset(name, "points", {"amount_max": 50})  # version 2: 100 too much
            mark = sent[0]
            _wait(lambda: sent[0] >= mark + 120)
            admin.change_asset(name, "points", {"amount_max": 1000})  # version 3: fine again
            mark = sent[0]
            _wait(lambda: sent[0] >= mark + 120)
        finally:
            stop.set()
            writer.join()

    journal = _journal(ledger, name, sent[0])
    assert len(journal) == sent[0]
    seen: dict[int, int] = defaultdict(int)
    by_version: dict[int, set[str]] = defaultdict(set)
    for partition, event in journal:
        # Each partition applies the change at one point of its stream, never back and forth.
        assert event.program_version >= seen[partition], (partition, event)
        seen[partition] = event.program_version
        by_version[event.program_version].add(
            event.status.value if event.reason is None else event.reason.value
        )
    assert by_version == {
        1: {"APPLIED"},
        2: {"amount_exceeds_limit"},
        3: {"APPLIED"},
    }


def test_ledger_programs_from_the_terminal(ledger: Ledger, tmp_path: Any) -> None:
    name = _program()
    token = ledger.key(Scope.PROGRAMS_ADMIN, programs=(name,))
    table = tmp_path / "program.toml"
    table.write_text(
        'idempotency_window = "12h"\n[assets.points]\nkind = "points"\nscale = 0\n'
        "amount_max = 500\n"
    )
    env = settings_env(ledger.settings, LEDGER_API_URL=ledger.url, LEDGER_API_KEY=token)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "programs", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert run("create", name, "--file", str(table)).returncode == 0
    changed = run("set-asset", name, "points", "amount_max=900", "lot_lifetime=30d")
    assert changed.returncode == 0, changed.stderr
    assert f"{name} version 2 (change_asset" in changed.stdout
    shown = run("show", name)
    assert 'assets.points: amount_max=900, kind="points", lot_lifetime="30d"' in shown.stdout
    refused = run("set-asset", name, "points", "scale=3")
    assert refused.returncode == 1
    assert f"422 program_invalid: programs.{name}.assets.points.scale" in refused.stdout
    assert len(run("versions", name).stdout.strip().splitlines()) == 2


def _wait(condition: Any, timeout_s: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)
