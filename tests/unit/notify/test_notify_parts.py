from __future__ import annotations

import random

import pytest
from msgspec.structs import replace

from ledger.model import LedgerEvent, Operation, Request, Status
from processors.notify.retry import MAX_DELAY_S, backoff_s, retryable
from processors.notify.signing import SignatureError, sign, verify
from processors.notify.subscriptions import PartnerConfigError, parse_subscriptions

SECRET = b"partner-secret"
NOW_MS = 1_790_000_000_000


def test_a_signature_verifies_and_any_change_breaks_it() -> None:
    body = b'{"event_id":"acme:alice:1"}'
    header = sign(SECRET, body, NOW_MS)
    verify(SECRET, body, header, NOW_MS + 1_000)
    with pytest.raises(SignatureError):
        verify(SECRET, body + b" ", header, NOW_MS)
    with pytest.raises(SignatureError):
        verify(b"other", body, header, NOW_MS)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, body, header, NOW_MS + 600_000)
    with pytest.raises(SignatureError, match="malformed"):
        verify(SECRET, body, "v1=abc", NOW_MS)


def test_backoff_grows_is_jittered_and_capped() -> None:
    rng = random.Random(1)
    draws = {attempt: [backoff_s(attempt, rng) for _ in range(200)] for attempt in range(1, 20)}
    for attempt, pauses in draws.items():
        cap = min(MAX_DELAY_S, 0.5 * 2 ** (attempt - 1))
        assert all(0 <= pause <= cap for pause in pauses)
        assert len(set(pauses)) > 150, "jittered: the pauses of one attempt differ"
        assert max(pauses) > 0.9 * cap, "the whole range up to the cap is used"
    means = [sum(draws[a]) / len(draws[a]) for a in range(1, 20)]
    assert means[3] > 3 * means[0], "grows with the attempts"
    assert max(max(pauses) for pauses in draws.values()) <= MAX_DELAY_S
    assert means[-1] > 0.4 * MAX_DELAY_S, "and reaches the cap"


@pytest.mark.parametrize(
    ("status", "again"),
    [
        (None, True),
        (500, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, False),
        (404, False),
        (410, False),
    ],
)
def test_what_is_worth_retrying(status: int | None, again: bool) -> None:
    assert retryable(status) is again


def _table(**extra: object) -> dict[str, object]:
    return {"url": "https://p.example/hook", "secret_env": "S", "programs": ["acme"], **extra}


def test_a_subscription_matches_by_program_operation_status_and_asset() -> None:
    [sub] = parse_subscriptions(
        {
            "partners": {
                "shop": _table(
                    operations=["REDEEM"], statuses=["APPLIED"], assets=["voucher_coffee"]
                )
            }
        },
        {"S": "secret"},
    )
    request = Request(
        request_id="r",
        program="acme",
        account_id="a",
        operation=Operation.REDEEM,
        asset="voucher_coffee",
        amount=1,
    )
    event = LedgerEvent(
        event_id="e",
        program="acme",
        account_id="a",
        sequence=1,
        status=Status.APPLIED,
        reason=None,
        original_sequence=None,
        processed_at_ms=NOW_MS,
        content_hash="h",
        request=request,
    )
    assert sub.wants(event)
    assert not sub.wants(replace(event, status=Status.REJECTED))
    assert not sub.wants(replace(event, request=replace(request, asset="points")))
    assert not sub.wants(replace(event, program="other"))


@pytest.mark.parametrize(
    ("table", "environ", "message"),
    [
        (_table(), {}, "environment variable S is unset"),
        (_table(url="ftp://x"), {"S": "s"}, "partners.shop.url"),
        (_table(programs=[]), {"S": "s"}, "partners.shop.programs"),
        (_table(max_attempts=0), {"S": "s"}, "partners.shop.max_attempts"),
        (_table(colour="red"), {"S": "s"}, "partners.shop.colour: unknown key"),
    ],
)
def test_a_wrong_subscription_names_the_key(
    table: dict[str, object], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(PartnerConfigError, match=message):
        parse_subscriptions({"partners": {"shop": table}}, environ)
