"""A voucher redemption closes its loop through a partner: the ledger notifies the fulfilment
partner, which issues the voucher or, when it cannot, reverses the redemption through the
gateway (idempotently, keyed by the event id, so a repeated notification reverses once)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.auth import Scope
from settings import Settings
from tests.infrastructure import Infrastructure
from tests.integration.gateway.conftest import (
    isolated_settings,
    start_ledger,
    stop_ledger,
    wait_ready,
    warm_up,
)
from tests.support.partner import PartnerStub

SECRET = "fulfilment-secret"
WAIT_S = 90.0
OUT_OF_STOCK = "v-unlucky"


def _partners(path: Path, url: str) -> Path:
    path.write_text(
        "\n".join(
            [
                "[partners.fulfilment]",
                f'url = "{url}"',
                'secret_env = "PARTNER_FULFILMENT_SECRET"',
                'programs = ["acme"]',
                'operations = ["REDEEM"]',
                'statuses = ["APPLIED"]',
                'assets = ["voucher_coffee"]',
                "max_attempts = 5",
                # The stub answers after its own call to the gateway: give it time.
                "timeout_ms = 60000",
            ]
        )
    )
    return path


def test_a_failed_fulfilment_reverses_the_redemption(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    settings: Settings = isolated_settings(infrastructure)
    issued: dict[str, str] = {}
    partner_key: list[str] = []
    gateway_url: list[str] = []
    lock = threading.Lock()

    def fulfil(notification: dict[str, Any]) -> None:
        request = notification["request"]
        account = notification["account_id"]
        if account != OUT_OF_STOCK:
            with lock:
                issued[notification["event_id"]] = f"COFFEE-{notification['sequence']}"
            return
        reversal = {
            "operation": "REVERSE",
            "account_id": account,
            "asset": request["asset"],
            "amount": request["amount"],
            "reference": request["request_id"],
        }
        answer = httpx.post(
            f"{gateway_url[0]}/v1/programs/acme/transactions",
            json=reversal,
            headers={
                "Authorization": f"Bearer {partner_key[0]}",
                "Idempotency-Key": f"fulfilment-failed:{notification['event_id']}",
            },
            timeout=30,
        )
        assert answer.status_code in (201, 202), answer.text

    partner = PartnerStub(SECRET.encode(), on_accept=fulfil).start()
    ledger = start_ledger(
        settings,
        tmp_path,
        ("core", "mirror", "gateway", "notify"),
        LEDGER_PARTNERS_CONFIG=str(_partners(tmp_path / "partners.toml", partner.url)),
        PARTNER_FULFILMENT_SECRET=SECRET,
        LEDGER_NOTIFY_GROUP_ID=f"{settings.topic_prefix}notify",
    )
    try:
        wait_ready(ledger)
        warm_up(ledger)
        gateway_url.append(ledger.url)
        partner_key.append(ledger.key(Scope.TRANSACTIONS_WRITE))
        shop = ledger.key(Scope.TRANSACTIONS_WRITE, Scope.BALANCES_READ)
        with ledger.client(shop) as client:
            for account in ("v-lucky", OUT_OF_STOCK):
                for operation, key in (("ACCRUE", "earn"), ("REDEEM", "redeem")):
                    body = {
                        "operation": operation,
                        "account_id": account,
                        "asset": "voucher_coffee",
                        "amount": 1,
                    }
                    answer = client.post(
                        "/v1/programs/acme/transactions",
                        json=body,
                        headers={"Idempotency-Key": f"{account}-{key}"},
                    )
                    assert answer.status_code == 201, answer.text

            def voucher_balance(account: str) -> int:
                balances = client.get(f"/v1/programs/acme/accounts/{account}/balances").json()
                entry = next(b for b in balances["balances"] if b["asset"] == "voucher_coffee")
                return int(entry["available"])

            deadline = time.monotonic() + WAIT_S
            while voucher_balance(OUT_OF_STOCK) != 1 or not issued:
                assert time.monotonic() < deadline, ledger.logs()
                time.sleep(0.3)
            assert voucher_balance("v-lucky") == 0  # spent, and the partner issued a code
            history = client.get(f"/v1/programs/acme/accounts/{OUT_OF_STOCK}/history").json()
    finally:
        stop_ledger(ledger)
        partner.stop()
    assert len(issued) == 1
    # A repeated notification may repeat the partner's call; it is reversed once all the same.
    reversals = [e for e in history["entries"] if e["operation"] == "REVERSE"]
    assert [e["status"] for e in reversals if e["status"] != "DUPLICATE"] == ["APPLIED"]
