"""Moving live accounts between regions, exactly once, with MirrorMaker 2 killed mid-run.

Members homed in eu hold value and an open hold; while accruals for them keep arriving in
both regions (some in both), half of them move to us (`ledger accounts move`, sent from either
region: one sent where the account does not live travels home first), MirrorMaker 2 is killed
and started again, and one member moves back. Then every request sent before the moves is
sent again to both regions (each must be a DUPLICATE: receipts moved with the account), the
holds are captured wherever the member lives now, and:
- every member's balance at its home equals an independent model's;
- the old home keeps a stub (nothing left there), and both gateways name the right home;
- each region's audit (its journal, the copy of the other's, the read models) is clean, every
  HANDOFF paired with its INSTALL across regions, and no account was decided in two regions
  in one epoch.
"""

from __future__ import annotations

import random
import threading
import time

import redis

from bench.kit.hostile import WorkItem
from bench.kit.model import LedgerModel, ModelRequest
from bench.kit.requests import AccountHistory, RequestEncoder
from cli.accounts import move_account
from cli.devstack.regions import RegionsStack
from gateway.auth import Scope
from processors.readside.audit import audit
from processors.readside.regional_audit import ALL_REGIONS
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings
from tests.integration.gateway.conftest import Ledger
from tests.integration.regions.traffic import (
    PROGRAM,
    balance,
    kill_and_restart_mirrormaker,
    send_anywhere,
)
from tests.support.kafka_io import produce

MEMBERS = 10
MOVE_TIMEOUT_S = 120.0
VISIBLE_TIMEOUT_S = 120.0


def _item(settings: Settings, request: ModelRequest) -> WorkItem:
    encoder = RequestEncoder(
        WireContracts.for_registry(None), settings.topics.requests, int(time.time() * 1000), "t"
    )
    member = AccountHistory(request.account)
    return WorkItem(
        member.key(), encoder.encode(request), member.owner(settings.partitions), request, None
    )


def _traffic(
    settings: dict[str, Settings], members: list[str], stop: threading.Event
) -> list[ModelRequest]:
    """Accruals for random members sent to random regions (one in four to both) until `stop`;
    returns what was sent (accruals commute: the model needs no order)."""
    rng = random.Random(7)
    sent: list[ModelRequest] = []
    names = list(settings)
    while not stop.is_set():
        batch = []
        for _ in range(20):
            member = rng.choice(members)
            request = ModelRequest(f"{member}-live{len(sent)}", member, "ACCRUE", "points", 7)
            sent.append(request)
            batch.append(request)
        for region in names:
            chosen = [r for i, r in enumerate(batch) if i % len(names) == names.index(region)]
            both = [r for i, r in enumerate(batch) if i % 4 == 0]
            produce(settings[region], [_item(settings[region], r) for r in chosen + both])
        time.sleep(0.05)
    return sent


def test_live_accounts_move_between_regions_exactly_once(
    regions: RegionsStack, ledgers: dict[str, Ledger]
) -> None:
    settings = {name: ledger.settings for name, ledger in ledgers.items()}
    model = LedgerModel()
    members = [f"mv{n:02d}" for n in range(MEMBERS)]  # placement: eu (config/placement.toml)
    seeds = []
    for member in members:
        seeds.append(ModelRequest(f"{member}-seed", member, "ACCRUE", "points", 1000))
        seeds.append(ModelRequest(f"{member}-hold", member, "HOLD", "points", 100))
    for request in seeds:
        model.apply(request)
    produce(settings["eu"], [_item(settings["eu"], r) for r in seeds])
    _wait_home(settings, model, dict.fromkeys(members, "eu"))

    stop = threading.Event()
    sent: list[ModelRequest] = []
    writer = threading.Thread(
        target=lambda: sent.extend(_traffic(settings, members, stop)), daemon=True
    )
    writer.start()
    moving = members[::2]
    handed_over: dict[str, int] = {}
    try:
        for index, member in enumerate(moving):
            # From either region: a HANDOFF sent in us travels to eu first.
            where = settings["eu" if index % 2 else "us"]
            outcome = move_account(where, PROGRAM, member, "us", f"move-{member}", MOVE_TIMEOUT_S)
            assert outcome.reason is None, (member, outcome)
            handed_over[member] = outcome.handoff_sequence
            if index == 1:
                kill_and_restart_mirrormaker(regions, 2.0)
        back = move_account(
            settings["eu"], PROGRAM, moving[0], "eu", f"back-{moving[0]}", MOVE_TIMEOUT_S
        )
        assert back.reason is None, back
        time.sleep(1.0)
    finally:
        stop.set()
        writer.join(60)
    home = {member: "us" if member in moving[1:] else "eu" for member in members}
    for request in sent:
        model.apply(request)
    # A move applied once: the same HANDOFF again (it went through) answers as it did.
    again = move_account(
        settings["us"], PROGRAM, moving[1], "us", f"move-{moving[1]}", MOVE_TIMEOUT_S
    )
    assert again.reason is None, again
    assert again.handoff_sequence == handed_over[moving[1]], again

    # Every seed again, to both regions: receipts moved with the accounts.
    for region in settings:
        produce(settings[region], [_item(settings[region], r) for r in seeds])
    captures = [
        ModelRequest(f"{m}-capture", m, "CAPTURE", "points", 60, f"{m}-hold") for m in members
    ]
    for request in captures:
        model.apply(request)
        send_anywhere(settings, home[request.account], [_item(settings["eu"], request)])
    assert len(sent) > 100, f"only {len(sent)} accruals were sent during the moves"
    _wait_home(settings, model, home)

    for member in members:
        old = "eu" if home[member] == "us" else "us"
        stub = SyncReadModel(
            redis.Redis.from_url(settings[old].redis_url), settings[old].redis_key_prefix
        )
        if member in moving:
            assert balance(stub, member) == (0, 0), (member, old)
    _check_gateways(ledgers, home)
    contracts = WireContracts.for_registry(None)
    for region, region_settings in settings.items():
        client = redis.Redis.from_url(region_settings.redis_url)
        report = audit(region_settings, client, contracts, 0, wait_behind_s=60)
        assert report.ok, (region, report.problems)
        points = report.transit["acme points"][ALL_REGIONS]
        assert points == {"book": 0, "in_flight": 0}, report.transit


def _wait_home(settings: dict[str, Settings], model: LedgerModel, home: dict[str, str]) -> None:
    """Until every member's balance reads at its home as the model says."""
    readers = {
        region: SyncReadModel(redis.Redis.from_url(s.redis_url), s.redis_key_prefix)
        for region, s in settings.items()
    }
    wanted = {member: model.balance(member, "points") for member in home}
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    while True:
        found = {member: balance(readers[home[member]], member) for member in home}
        if found == wanted:
            return
        assert time.monotonic() < deadline, {
            member: (found[member], wanted[member])
            for member in home
            if found[member] != wanted[member]
        }
        time.sleep(0.5)


def _check_gateways(ledgers: dict[str, Ledger], home: dict[str, str]) -> None:
    for region, ledger in ledgers.items():
        with ledger.client(ledger.key(Scope.BALANCES_READ)) as client:
            for member, where in home.items():
                body = client.get(f"/v1/programs/{PROGRAM}/accounts/{member}/balances").json()
                assert body["home_region"] == where, (region, member, body)
