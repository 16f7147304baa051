"""The dashboard in a real headless Chromium: it loads `/dashboard#key=...`, polls
`/v1/dashboard`, and the figures of real traffic (applied and rejected writes through the
gateway, program totals, the mirror's last audit) appear in the rendered DOM, and its SVG
charts draw them: lines off the baseline that move as more load is sent. The screenshot is
kept as test-artifacts/dashboard.png."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from gateway.auth import Scope
from tests.integration.gateway.conftest import Ledger, account

ACME = "/v1/programs/acme"
ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WAIT_S = 60.0
BROWSER_TIMEOUT_S = 90.0


class Figures(HTMLParser):
    """Text of every element with a `data-figure` attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        figure = dict(attrs).get("data-figure")
        self._open.append((tag, figure))
        if figure is not None:
            self.figures[figure] = ""

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            opened, _ = self._open.pop()
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, figure in self._open:
            if figure is not None:
                self.figures[figure] += data


def figures_of(dom: str) -> dict[str, str]:
    parser = Figures()
    parser.feed(dom)
    return {name: text.strip() for name, text in parser.figures.items()}


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is not installed: run scripts/install-system-deps.sh"
    return found


def browse(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=8000",
        "--window-size=1280,1500",
        *extra,
        url,
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, f"chromium failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return done


def _write(client: Any, body: dict[str, Any]) -> int:
    answer = client.post(
        f"{ACME}/transactions", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert answer.status_code in (201, 422), answer.text
    status: int = answer.status_code
    return status


def _traffic(ledger: Ledger, token: str) -> None:
    """Applied and rejected writes through the gateway, so the figures are not zero."""
    with ledger.client(token) as client:
        for _ in range(3):
            ann = account()
            body = {"operation": "ACCRUE", "account_id": ann, "asset": "points", "amount": 500}
            assert _write(client, body) == 201
            spend = {"operation": "REDEEM", "account_id": ann, "asset": "points", "amount": 900}
            assert _write(client, spend) == 422


def _wait_for_figures(ledger: Ledger, token: str) -> dict[str, Any]:
    """/v1/dashboard once the rejections are counted and an audit saw the traffic."""
    deadline = time.monotonic() + WAIT_S
    with ledger.client(token) as client:
        while True:
            answer = client.get("/v1/dashboard")
            assert answer.status_code == 200, answer.text
            data: dict[str, Any] = answer.json()
            audit = data["audit"]
            rejected = data["activity"]["rejections_by_reason"].get("insufficient_funds", 0)
            if rejected >= 3 and audit is not None and audit["events"] >= 4:
                return data
            assert time.monotonic() < deadline, f"{data}\n{ledger.logs()}"
            time.sleep(0.5)


def test_dashboard_data_needs_an_admin_key(ledger: Ledger) -> None:
    with ledger.client() as anonymous:
        page = anonymous.get("/dashboard")
        assert page.status_code == 200 and 'data-figure="throughput"' in page.text
        assert anonymous.get("/v1/dashboard").status_code == 401
    with ledger.client(ledger.key(Scope.BALANCES_READ, Scope.TRANSACTIONS_WRITE)) as client:
        assert client.get("/v1/dashboard").status_code == 403


def test_dashboard_shows_live_figures_in_headless_chromium(ledger: Ledger, tmp_path: Path) -> None:
    token = ledger.key(Scope.ADMIN)
    _traffic(ledger, token)
    data = _wait_for_figures(ledger, token)
    activity = data["activity"]
    assert activity["outcomes"] >= 6 and activity["outcomes_per_s"] > 0
    assert activity["freshness_samples"] >= 6
    assert 0 < activity["freshness_p50_ms"] <= activity["freshness_p99_ms"]
    assert data["lag"]["error"] is None and data["lag"]["total_records"] is not None
    assert data["totals"]["acme"]["points"]["issued"] >= 1500

    url = f"{ledger.url}/dashboard#key={token}"
    dom = browse(url, tmp_path / "profile-dom", "--dump-dom").stdout
    figures = figures_of(dom)
    assert token not in dom
    assert figures["updated"].startswith("updated "), figures
    assert float(figures["throughput"]) > 0, figures
    assert int(figures["outcomes"]) >= 6, figures
    assert int(figures["rejections-insufficient_funds"]) >= 3, figures
    assert int(figures["rejections-total"]) >= 3, figures
    assert float(figures["freshness-p50"]) > 0, figures
    assert float(figures["freshness-p99"]) >= float(figures["freshness-p50"]), figures
    assert int(figures["lag"]) >= 0, figures
    assert int(figures["totals-acme-points-issued"]) >= 1500, figures
    assert int(figures["totals-acme-points-outstanding"]) >= 1500, figures
    assert figures["audit-status"] in ("OK", "PROBLEMS"), figures
    assert figures["audit-status"] == ("OK" if data["audit"]["ok"] else "PROBLEMS"), figures
    assert "events" in figures["audit-detail"], figures

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)
    browse(url, tmp_path / "profile-shot", f"--screenshot={screenshot}")
    image = screenshot.read_bytes()
    assert image.startswith(PNG_MAGIC) and len(image) > 10_000


BASELINE_Y = 148.0  # the charts' zero line (PLOT.bottom in gateway/dashboard/page.py)


def drawn(dom: str, series: str) -> list[tuple[float, float]]:
    """The points of the `<path data-series=...>` the page drew for `series`."""
    for tag in re.findall(r"<path\b[^>]*>", dom):
        if f'data-series="{series}"' in tag:
            d = re.search(r'\bd="([^"]*)"', tag)
            assert d is not None, tag
            # Absolute moves and lines only (an isolated point adds a relative "l0.01 0").
            pairs = re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", d.group(1))
            return [(float(x), float(y)) for x, y in pairs]
    raise AssertionError(f"no path for {series} in the page")


def _charted_accrues(data: dict[str, Any]) -> int:
    """ACCRUE outcomes of acme in the finished steps of the charts."""
    acme = data["series"]["programs"].get("acme", {})
    accrue = acme.get("throughput_by_operation", {}).get("ACCRUE", [])
    return int(sum(accrue) * data["series"]["step_s"] + 0.5)


def _wait_for_series(ledger: Ledger, token: str, accrues: int) -> dict[str, Any]:
    """/v1/dashboard once the finished steps hold at least `accrues` ACCRUE outcomes."""
    deadline = time.monotonic() + WAIT_S
    with ledger.client(token) as client:
        while True:
            data: dict[str, Any] = client.get("/v1/dashboard").json()
            if _charted_accrues(data) >= accrues:
                return data
            assert time.monotonic() < deadline, data["series"]
            time.sleep(1)


def test_the_charts_draw_real_data_and_move_as_load_is_sent(ledger: Ledger, tmp_path: Path) -> None:
    token = ledger.key(Scope.ADMIN)
    # Earlier tests of this module may have charted writes already: count from here.
    with ledger.client(token) as client:
        earlier = _charted_accrues(client.get("/v1/dashboard").json())
    _traffic(ledger, token)
    data = _wait_for_series(ledger, token, earlier + 3)
    acme = data["series"]["programs"]["acme"]
    assert max(acme["rejections_by_reason"]["insufficient_funds"]) >= 1
    assert [v for v in acme["freshness_p50_ms"] if v is not None], acme
    assert [v for v in data["series"]["journal_lag"] if v is not None], data["series"]
    assert [v for v in data["series"]["core_lag"] if v is not None], data["series"]
    url = f"{ledger.url}/dashboard#key={token}"
    before = browse(url, tmp_path / "profile-1", "--dump-dom").stdout
    accrue_before = drawn(before, "throughput-ACCRUE")
    assert min(y for _, y in accrue_before) < BASELINE_Y, accrue_before  # off the zero line
    assert drawn(before, "rejections-insufficient_funds")
    assert drawn(before, "freshness-p99") and drawn(before, "lag-journal")

    for _ in range(4):  # more load, in later steps than the first
        _traffic(ledger, token)
    _wait_for_series(ledger, token, earlier + 15)
    after = browse(url, tmp_path / "profile-2", "--dump-dom").stdout
    accrue_after = drawn(after, "throughput-ACCRUE")
    assert accrue_after != accrue_before
    assert len([y for _, y in accrue_after if y < BASELINE_Y]) >= 2, accrue_after

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "dashboard-charts.png"
    screenshot.unlink(missing_ok=True)
    browse(url, tmp_path / "profile-shot", f"--screenshot={screenshot}")
    assert screenshot.read_bytes().startswith(PNG_MAGIC)
