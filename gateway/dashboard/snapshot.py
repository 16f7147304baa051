"""The JSON behind the dashboard: one cheap read of everything the page shows."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import redis.asyncio

from gateway.dashboard.activity import WINDOW_S, Activity, read_counters
from gateway.dashboard.lag import JournalLag
from gateway.dashboard.series import build_series, read_lag_samples
from readmodel.keys import SERIES_WINDOW_S, audit_last
from readmodel.reader import ReadModel


async def last_audit(
    client: redis.asyncio.Redis, prefix: str, visible: Iterable[str]
) -> dict[str, Any] | None:
    """The last audit report the auditor stored, None before the first one, with only the
    problems of `visible` programs (problems that name no program, such as an undecodable
    event, are everyone's)."""
    raw = await client.get(audit_last(prefix))
    if raw is None:
        return None
    report: dict[str, Any] = json.loads(raw)
    allowed = set(visible) | {""}
    by_program: dict[str, list[str]] = report.pop("problems_by_program", {})
    report["problems"] = [
        problem
        for program, problems in sorted(by_program.items())
        if program in allowed
        for problem in problems
    ]
    report["ok"] = not report["problems"]
    return report


async def program_totals(read_model: ReadModel, visible: Iterable[str]) -> dict[str, Any]:
    """Totals per program (only those in `visible`) and asset, as the reads API shows them."""
    allowed = set(visible)
    programs = [p for p in await read_model.programs() if p in allowed]
    totals: dict[str, Any] = {}
    for program in programs:
        by_asset = await read_model.totals(program)
        totals[program] = {asset: asdict(t) for asset, t in by_asset.items()}
    return totals


async def snapshot(
    activity: Activity,
    lag: JournalLag,
    read_model: ReadModel,
    client: redis.asyncio.Redis,
    prefix: str,
    visible_programs: Iterable[str],
) -> dict[str, Any]:
    visible = list(visible_programs)
    now_s = time.time()
    # One read of the charts' window; the figures use its last minute.
    counters = await read_counters(client, prefix, now_s, SERIES_WINDOW_S + WINDOW_S)
    last_minute = {s: fields for s, fields in counters.items() if s > now_s - WINDOW_S}
    lag_samples = await read_lag_samples(client, prefix, now_s)
    return {
        "generated_at_ms": time.time_ns() // 1_000_000,
        "activity": asdict(activity.view(visible, last_minute)),
        "series": asdict(build_series(visible, counters, lag_samples, now_s)),
        "lag": asdict(await lag.view()),
        "totals": await program_totals(read_model, visible),
        "audit": await last_audit(client, prefix, visible),
    }
