"""The result file and the short table printed at the end of a run.

Long on purpose: `result_table` lays the printed table out row by row, as it reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = (
    "",
    "requests/s",
    "of ceiling",
    "freshness p50/p99/max ms",
    "CPU µs/request",
    "peak RSS MiB",
    "balances",
)


def write_result(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")


def result_table(result: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [COLUMNS]
    ours = result.get("ours") or {}
    ceiling = result.get("ceiling") or {}
    peer = result.get("peer")
    ceiling_rate = ceiling.get("records_per_s")
    if ours:
        rows.append(
            (
                f"ledger core x{ours['processors']}"
                + (" + mirror" if ours["end_to_end"] == "redis" else ""),
                _rate(ours.get("requests_per_s")),
                _ratio(ours.get("requests_per_s"), ceiling_rate),
                _freshness(ours.get("freshness")),
                _number(ours.get("core_cpu_us_per_request")),
                _number(ours.get("processor_peak_rss_mb")),
                _verdict(ours.get("balances_verified"), ours.get("error")),
            )
        )
    if ours.get("end_to_end") == "redis":
        rows.append(
            (
                "  of which: journal complete",
                _rate(ours.get("journal_requests_per_s")),
                _ratio(ours.get("journal_requests_per_s"), ceiling_rate),
                _freshness(ours.get("journal_freshness")),
                "",
                "",
                "",
            )
        )
        mirror = ours.get("mirror_usage") or {}
        rows.append(
            (
                "  mirror (Redis read model)",
                "",
                "",
                "",
                _number(ours.get("mirror_cpu_us_per_request")),
                _number(mirror.get("peak_rss_mb")),
                "",
            )
        )
    if "produce_records_per_s" in ceiling:
        rows.append(
            (
                "kafka produce (perf tool)",
                _rate(ceiling["produce_records_per_s"]),
                "",
                "",
                "",
                "",
                "",
            )
        )
        rows.append(
            (
                "kafka consume (perf tool)",
                _rate(ceiling["consume_records_per_s"]),
                "",
                "",
                "",
                "",
                "",
            )
        )
    if peer:
        rows.append(
            (
                f"peer {peer['name']}",
                _rate(peer.get("requests_per_s")),
                _ratio(peer.get("requests_per_s"), ceiling_rate),
                _freshness(peer.get("freshness")),
                _number(_per_request_us(peer.get("cpu_s"), peer.get("requests"))),
                _number(peer.get("peak_rss_mb")),
                _verdict(peer.get("balances_verified"), peer.get("error")),
            )
        )
    http = result.get("http")
    rows += _http_rows(http) if http and "runs" in http else []
    widths = [max(len(row[n]) for row in rows) for n in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(width) if n == 0 else cell.rjust(width)
            for n, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    notes = []
    if ours:
        notes.append(f"ours: freshness = {ours['freshness_path']}")
        if ours.get("error"):
            notes.append(f"ours failed: {ours['error'][:300]}")
    if "error" in ceiling:
        notes.append(f"ceiling failed: {ceiling['error'][:300]}")
    if peer and peer.get("error"):
        notes.append(f"peer failed: {peer['error'][:300]}")
    if http and "runs" in http:
        notes.append(
            "gateway rows: wrk's latency p50/p99 in the freshness column; balance reads at "
            f"{http['reads_of_healthz']:.0%} of the same gateway's /healthz"
        )
    elif http:
        notes.append(f"http failed: {http.get('error', '')[:300]}")
    return "\n".join(lines + notes)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _ratio(rate: float | None, ceiling: float | None) -> str:
    return "-" if not rate or not ceiling else f"{rate / ceiling:.1%}"


def _freshness(freshness: dict[str, float] | None) -> str:
    if not freshness:
        return "-"
    return f"{freshness['p50_ms']:,.0f}/{freshness['p99_ms']:,.0f}/{freshness['max_ms']:,.0f}"


def _http_rows(http: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for run in http["runs"]:
        rows.append(
            (
                f"gateway x{http['workers']}: {run['name']}",
                _rate(run["requests"] / run["seconds"] if run["seconds"] else None),
                "",
                f"{run['p50_ms']:,.0f}/{run['p99_ms']:,.0f}",
                _number(_per_request_us(run["gateway_cpu_s"], run["requests"])),
                "",
                "",
            )
        )
    return rows


def _per_request_us(cpu_s: float | None, requests: int | None) -> float | None:
    return cpu_s * 1e6 / requests if cpu_s is not None and requests else None


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _verdict(verified: bool | None, error: str | None) -> str:
    if error:
        return "FAILED RUN"
    return {True: "verified", False: "WRONG", None: "-"}[verified]
