"""The Python client (clients/python) against the live OpenAPI and the real stack: it covers
every operation the gateway publishes, and each of its calls does what the API says, checked
against balances the test computes itself. `ledger tx` and `ledger account show` too."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal

import httpx
import pytest
from reward_ledger_client import (
    AsyncLedgerClient,
    LedgerClient,
    NotFound,
    RateLimited,
    Rejected,
    Unauthenticated,
)
from reward_ledger_client.protocol import ENDPOINTS

from gateway.auth import Scope
from tests.integration.gateway.conftest import Ledger, account
from tests.support.processes import ROOT, settings_env


def test_the_client_covers_every_operation_of_the_live_openapi(ledger: Ledger) -> None:
    published = httpx.get(f"{ledger.url}/openapi.json", timeout=30).json()["paths"]
    live = {(method.upper(), path) for path, item in published.items() for method in item}
    assert live == set(ENDPOINTS)


def test_every_write_and_read_of_the_sync_client(ledger: Ledger) -> None:
    token = ledger.key(Scope.ADMIN)
    ann, bob = account(), account()
    with LedgerClient(ledger.url, token) as client:
        issued_before = next(t for t in client.totals("acme") if t.asset == "points").issued
        accrued = client.accrue("acme", ann, "points", 120)
        assert (accrued.status, accrued.sequence) == ("APPLIED", 1)
        cash = client.accrue("acme", ann, "cashback_inr", Decimal("12.50"))
        assert cash.balance("cashback_inr").available == 1250  # type: ignore[union-attr]
        with pytest.raises(Rejected) as rejected:
            client.redeem("acme", ann, "points", 1_000)
        assert rejected.value.code == "insufficient_funds"
        hold = client.hold("acme", ann, "points", 30, request_id=f"{ann}-hold")
        assert hold.balance("points").held == 30  # type: ignore[union-attr]
        client.capture("acme", ann, "points", 20, reference=f"{ann}-hold")
        second = client.hold("acme", ann, "points", 5, request_id=f"{ann}-hold-2")
        client.release("acme", ann, "points", reference=second.request_id)
        client.reverse("acme", ann, "points", 10, reference=accrued.request_id)
        client.adjust("acme", ann, "points", -3, reason="client contract test")
        client.transfer("acme", ann, "points", 25, to=bob)
        again = client.submit(
            "acme",
            {
                "operation": "ACCRUE",
                "account_id": ann,
                "asset": "points",
                "amount": 120,
                "request_id": accrued.request_id,
            },
        )
        assert again.sequence == accrued.sequence  # the first answer, again
        items = client.batch(
            "acme",
            [
                {"operation": "ACCRUE", "account_id": bob, "asset": "points", "amount": 7},
                {"operation": "REDEEM", "account_id": bob, "asset": "points", "amount": 10_000},
            ],
        )
        assert [i.http_status for i in items] == [201, 422]

        expected_ann = (
            120 - 20 - 10 - 3 - 25
        )  # the hold's capture spent 20; the release gave 5 back
        balances = client.balances("acme", ann)
        assert balances.balance("points").available == expected_ann  # type: ignore[union-attr]
        assert balances.balance("points").held == 0  # type: ignore[union-attr]
        assert balances.balance("cashback_inr").available_decimal == Decimal("12.50")  # type: ignore[union-attr]
        assert client.balances("acme", bob).balance("points").available == 32  # type: ignore[union-attr]
        page = client.history("acme", ann, limit=3)
        assert len(page.entries) == 3 and page.next_before_sequence is not None
        older = client.history("acme", ann, limit=50, before_sequence=page.next_before_sequence)
        assert all(e.sequence < page.next_before_sequence for e in older.entries)
        status = client.request_status("acme", ann, accrued.request_id)
        assert (status.status, status.sequence) == ("APPLIED", 1)
        with pytest.raises(NotFound):
            client.request_status("acme", ann, "never-sent")
        points = next(t for t in client.totals("acme") if t.asset == "points")
        # Accrued 120 and 7, 10 of the 120 reversed (a refund gives issuance back).
        assert points.issued - issued_before == 120 + 7 - 10
        assert client.healthy() and client.ready()
        assert client.problem("insufficient_funds")["code"] == "insufficient_funds"
        assert "activity" in client.dashboard()
    with LedgerClient(ledger.url, "rlk_not_a_key") as stranger, pytest.raises(Unauthenticated):
        stranger.balances("acme", ann)


def test_retries_wait_out_a_rate_limit(ledger: Ledger) -> None:
    token = ledger.key(Scope.BALANCES_READ, rate_per_s=1, rate_burst=1)
    who = account()
    with LedgerClient(ledger.url, token, retries=0) as impatient:
        impatient.balances("acme", who)
        with pytest.raises(RateLimited) as limited:
            impatient.balances("acme", who)
        assert limited.value.retry_after_s >= 1
    with LedgerClient(ledger.url, token, retries=3) as patient:
        for _ in range(3):  # each one over the limit, each one retried after Retry-After
            assert patient.balances("acme", who).account_id == who


def test_the_async_client_writes_reads_and_follows_events(ledger: Ledger) -> None:
    token = ledger.key(Scope.BALANCES_READ, Scope.TRANSACTIONS_WRITE)
    ann = account()

    async def scenario() -> list[str]:
        async with AsyncLedgerClient(ledger.url, token) as client:
            stream = client.events("acme", ann)
            ready = await anext(stream)
            assert ready.event == "ready"
            outcomes = await asyncio.gather(
                *(client.accrue("acme", ann, "points", n) for n in (1, 2, 3))
            )
            assert {o.status for o in outcomes} == {"APPLIED"}
            seen = [await anext(stream) for _ in range(3)]
            await stream.aclose()
            balances = await client.balances("acme", ann)
            assert balances.balance("points").available == 6  # type: ignore[union-attr]
            return [e.id or "" for e in seen]

    assert asyncio.run(scenario()) == ["1.0", "2.0", "3.0"]


def test_ledger_tx_and_account_show_use_the_client(ledger: Ledger) -> None:
    ann = account()
    env = settings_env(
        ledger.settings,
        LEDGER_API_URL=ledger.url,
        LEDGER_API_KEY=ledger.key(Scope.ADMIN),
    )

    def ledger_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = ledger_cli("tx", "accrue", "acme", ann, "cashback_inr", "2.50", "--request-id", "t-1")
    assert done.returncode == 0 and done.stdout.startswith("APPLIED t-1"), done.stdout + done.stderr
    refused = ledger_cli("tx", "redeem", "acme", ann, "cashback_inr", "9.99")
    assert refused.returncode == 1 and "422 insufficient_funds" in refused.stdout, refused.stdout
    shown = ledger_cli("account", "show", "acme", ann)
    assert shown.returncode == 0, shown.stderr
    assert "cashback_inr" in shown.stdout and "2.50" in shown.stdout
    assert "REJECTED (insufficient_funds)" in shown.stdout
