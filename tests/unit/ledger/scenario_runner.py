"""Reads and runs the plain-text scenario tables in `scenarios/*.txt`.

Format, one item per line (`#` starts a comment):

    @t=<time>                       set the clock: `0`, `90d`, `+2h`, `+500ms` (relative)
    <account> <OP> <asset> [amount] [key=value ...] -> <outcome> [expectation ...]
    @timers -> <n>                  run due_timers for every account; n timers must apply
    @deliver -> <n>                 deliver the legs kept back by `deliver=later`; n must apply
    check <account> <expectation ...>

Request keys: `id` (request_id, default `l<line>`), `ref` (reference), `to` (counterparty),
`region` (to_region of a move; asset `-` for none), `epoch` (an INSTALL written by hand
carries the account's current state at that epoch),
`exp` (expires_at_ms, time syntax as @t, relative to now), `at` (requested_at_ms, relative to
now, default now), `reason` (underscores become spaces), `program` (default acme).
`carry=<amount>@<time>,...` sets carried lots (`@never` for no expiry). `via=<channel>`
(public, operator, system) is where the request comes from; by default the channel that may
ask for the operation (operator for ADJUST, system for legs and timers, else public).

Outcome: `APPLIED`, `DUPLICATE` (or `DUPLICATE:<reason>`, the retry of a rejection) or a
reason code (the request must be REJECTED with it).
Expectations: `points=70` (available of the line's account), `points=70/30` (available/held),
`bob.points=10` (another account), `@expired.points=20` (a system account's posting total),
`seq=3` (the line's account sequence), `lots=2` (the line's account's lots, every asset),
`epoch=1` (its ownership epoch), `home=us` (the region a stub names; `here` if it lives here).

Requests a decision emits (transfer legs) are delivered at once, at the same time, unless the
line says `deliver=later` (they wait, as in Kafka, for a later `@deliver`). After every
decision the runner checks every invariant of ledger/invariants.py over all accounts (trial
balance, lots, holds, @holds, @transit) and that folding the account's events gives its state.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from msgspec.structs import replace

from ledger.decide import decide
from ledger.evolve import evolve
from ledger.invariants import Books
from ledger.model import (
    AccountState,
    CarriedLot,
    Channel,
    LedgerEvent,
    Operation,
    Request,
    Status,
)
from ledger.programs import Programs
from ledger.reasons import Reason
from ledger.timers import due_timers
from tests.support.channels import permitting

SCENARIO_DIR = Path(__file__).parent / "scenarios"
_UNITS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_TIME = re.compile(r"^([+-]?)([0-9]+)(ms|s|m|h|d)?$")


class ScenarioError(AssertionError):
    pass


def parse_time(text: str, now: int) -> int:
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f"bad time {text!r}")
    sign, number, unit = match.groups()
    value = int(number) * _UNITS[unit or "ms"]
    if sign == "+":
        return now + value
    if sign == "-":
        return now - value
    return value


@dataclass
class World:
    programs: Programs
    now: int = 0
    states: dict[tuple[str, str], AccountState] = field(default_factory=dict)
    events: dict[tuple[str, str], list[LedgerEvent]] = field(default_factory=dict)
    totals: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    outcomes: list[LedgerEvent] = field(default_factory=list)
    books: Books = field(default_factory=Books)

    later: list[Request] = field(default_factory=list)

    def submit(
        self, request: Request, channel: Channel | None = None, deliver: bool = True
    ) -> LedgerEvent:
        """Decide `request`, then deliver what it emits (or keep it for `deliver_later`);
        returns the first event."""
        first = self._decide(request, channel or permitting(request.operation))
        if not deliver:
            self.later.extend(self._emitted)
            return first
        pending = list(self._emitted)
        while pending:
            self._decide(pending.pop(0), Channel.SYSTEM)
            pending.extend(self._emitted)
        return first

    def deliver_later(self) -> int:
        applied = 0
        legs, self.later = self.later, []
        for leg in legs:
            if self.submit(leg, Channel.SYSTEM).status is Status.APPLIED:
                applied += 1
        return applied

    def _decide(self, request: Request, channel: Channel) -> LedgerEvent:
        key = (request.program, request.account_id)
        before = self.states.get(key)
        decision = decide(before, request, self.now, self.programs, channel)
        event = decision.event
        self._emitted = decision.emitted
        self.outcomes.append(event)
        if event.status is Status.APPLIED:
            for posting in event.postings:
                self.totals[(request.program, posting.asset, posting.account)] += posting.amount
        elif before is not None and _moved(before, decision.state):
            raise ScenarioError(f"{event.status} changed the balances of {key}")
        elif event.status is Status.DUPLICATE and decision.state is not before:
            raise ScenarioError(f"DUPLICATE changed the state of {key}")
        if decision.state is not before:
            self.states[key] = decision.state
            self.events.setdefault(key, []).append(event)
        problems = self.books.add(event)
        if problems:
            raise ScenarioError(f"the event breaks the books: {problems}")
        self._check_invariants(key)
        return event

    def _check_invariants(self, key: tuple[str, str]) -> None:
        problems = self.books.problems()
        if problems:
            raise ScenarioError(f"invariants broken: {problems}")
        folded: AccountState | None = None
        for event in self.events.get(key, ()):
            folded = evolve(folded, event)
        if folded != self.states.get(key):
            raise ScenarioError(f"fold(events) != state for {key}")

    def run_timers(self) -> int:
        applied = 0
        for state in list(self.states.values()):
            for request in due_timers(state, self.now, self.programs):
                if self.submit(request, Channel.SYSTEM).status is Status.APPLIED:
                    applied += 1
        return applied

    def balance(self, program: str, account: str, asset: str) -> tuple[int, int]:
        if account.startswith("@"):
            return self.totals.get((program, asset, account), 0), 0
        state = self.states.get((program, account))
        balance = state.balances.get(asset) if state else None
        return (balance.available, balance.held) if balance else (0, 0)


def _moved(before: AccountState, after: AccountState) -> bool:
    """Whether anything but idempotency memory changed."""
    return (before.sequence, before.balances, before.lots, before.holds) != (
        after.sequence,
        after.balances,
        after.lots,
        after.holds,
    )


@dataclass(frozen=True)
class Line:
    path: Path
    number: int
    text: str

    def where(self) -> str:
        return f"{self.path.name}:{self.number}: {self.text}"


def scenario_lines(path: Path) -> list[Line]:
    lines = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if text:
            lines.append(Line(path, number, text))
    return lines


def run_scenario(path: Path, programs: Programs) -> World:
    world = World(programs)
    for line in scenario_lines(path):
        try:
            _run_line(world, line)
        except ScenarioError as error:
            raise ScenarioError(f"{line.where()}\n  {error}") from None
    return world


def _run_line(world: World, line: Line) -> None:
    text = line.text
    if text.startswith("@t="):
        world.now = parse_time(text[3:], world.now)
        return
    left, _, right = text.partition("->")
    tokens = left.split()
    if tokens[0] in ("@timers", "@deliver"):
        applied = world.run_timers() if tokens[0] == "@timers" else world.deliver_later()
        if applied != int(right.strip()):
            raise ScenarioError(f"{applied} applied, expected {right.strip()}")
        return
    if tokens[0] == "check":
        _check(world, "acme", tokens[1], tokens[2:])
        return
    request, channel, deliver = _request(world, line, tokens)
    event = world.submit(request, channel, deliver)
    expected, *checks = right.split()
    actual = event.status.value if event.status is not Status.REJECTED else str(event.reason)
    if event.status is Status.DUPLICATE and event.reason is not None:
        actual = f"DUPLICATE:{event.reason}"
    if actual != expected:
        raise ScenarioError(f"got {actual}, expected {expected}")
    if expected in Reason.__members__.values() and event.status is not Status.REJECTED:
        raise ScenarioError("expected a rejection")
    _check(world, request.program, request.account_id, checks)


def _request(world: World, line: Line, tokens: list[str]) -> tuple[Request, Channel | None, bool]:
    account, operation, asset, *rest = tokens
    amount = 0
    if rest and re.match(r"^-?[0-9]+$", rest[0]):
        amount = int(rest.pop(0))
    options = dict(token.split("=", 1) for token in rest)
    now = world.now
    carried: tuple[CarriedLot, ...] = ()
    if "carry" in options:
        carried = tuple(
            CarriedLot(
                int(part.split("@")[0]),
                None if part.endswith("@never") else parse_time(part.split("@")[1], now),
            )
            for part in options["carry"].split(",")
        )
    reason = options.get("reason")
    channel = Channel(options["via"]) if "via" in options else None
    carried_state = None
    if "epoch" in options:
        key = (options.get("program", "acme"), account)
        here = world.states.get(key) or AccountState(*key)
        carried_state = replace(here, epoch=int(options["epoch"]), moved_to="")
    request = Request(
        request_id=options.get("id", f"l{line.number}"),
        program=options.get("program", "acme"),
        account_id=account,
        operation=Operation(operation),
        asset="" if asset == "-" else asset,
        amount=amount,
        reference=options.get("ref"),
        counterparty_account_id=options.get("to"),
        expires_at_ms=parse_time(options["exp"], now) if "exp" in options else None,
        reason=None if reason is None else reason.replace("_", " "),
        requested_at_ms=parse_time(options["at"], now) if "at" in options else now,
        principal="scenario",
        carried_lots=carried,
        to_region=options.get("region", ""),
        carried_state=carried_state,
    )
    return request, channel, options.get("deliver") != "later"


def _check(world: World, program: str, account: str, checks: list[str]) -> None:
    for check in checks:
        name, _, value = check.partition("=")
        if name in ("seq", "lots", "epoch", "home"):
            state = world.states.get((program, account)) or AccountState(program, account)
            found: object = {
                "seq": state.sequence,
                "lots": sum(len(lots) for lots in state.lots.values()),
                "epoch": state.epoch,
                "home": state.moved_to or "here",
            }[name]
            if name != "home":
                value = int(value)  # type: ignore[assignment]
            if found != value:
                raise ScenarioError(f"{name} {found}, expected {value}")
            continue
        owner, asset = name.rsplit(".", 1) if "." in name else (account, name)
        available, held = world.balance(program, owner, asset)
        want_available, _, want_held = value.partition("/")
        if available != int(want_available) or (want_held and held != int(want_held)):
            raise ScenarioError(f"{owner}.{asset} is {available}/{held}, expected {value}")
