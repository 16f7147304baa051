"""Operations: /healthz, /readyz, and the problem type pages /problems/{code}.

/metrics is not served here: it is on its own port (LEDGER_GATEWAY_METRICS_PORT, gateway/app.py),
so the API port shows nothing to a caller without a key."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from gateway.access import process_state
from gateway.models import HealthOut
from gateway.problems import PROBLEMS, GatewayError
from gateway.process_state import ProcessState
from gateway.routes import PROBLEM_RESPONSES

router = APIRouter(tags=["operations"])
KAFKA_CHECK_TIMEOUT_S = 2.0
REDIS_CHECK_TIMEOUT_S = 2.0


@router.get("/healthz", summary="The process is alive", response_model=HealthOut)
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    summary="Kafka and Redis are reachable and outcomes are being listened to",
    response_model=HealthOut,
    responses=PROBLEM_RESPONSES,
)
async def readyz(found: Annotated[ProcessState, Depends(process_state)]) -> HealthOut:
    checks = {
        "kafka": await asyncio.to_thread(found.producer.reachable, KAFKA_CHECK_TIMEOUT_S),
        "redis": await _redis_answers(found),
        "outcomes": found.waiter.listening,
    }
    if not all(checks.values()):
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        raise GatewayError("unavailable", f"not ready: {failing}", extras={"checks": checks})
    return HealthOut(status="ok", checks=checks)


async def _redis_answers(found: ProcessState) -> bool:
    try:
        return bool(await asyncio.wait_for(found.redis.ping(), REDIS_CHECK_TIMEOUT_S))
    except (RedisError, OSError, TimeoutError):
        return False


@router.get(
    "/problems/{code}",
    summary="What a problem type means (the `type` of every error body)",
    responses=PROBLEM_RESPONSES,
)
async def problem_type(code: Annotated[str, Path(max_length=64)]) -> JSONResponse:
    kind = PROBLEMS.get(code)
    if kind is None:
        raise GatewayError("not_found", f"no problem type {code!r}")
    body: dict[str, Any] = {"code": code, "status": kind.status, "title": kind.title}
    return JSONResponse(body)
