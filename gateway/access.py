"""Who may do what: the FastAPI dependencies every /v1 route goes through, in this order.

1. `Authorization: Bearer <api key>`: missing, malformed, unknown or revoked -> 401; a key
   bound to a client certificate, over a connection that did not present it -> 401;
2. the program in the path must be one the key is bound to AND one this ledger serves;
   otherwise 404, worded exactly like an unknown program, so existence does not leak;
3. the key needs one of the route's scopes (`admin` has them all) -> 403;
4. the key's token bucket must have the call's tokens (one per call, one per transaction of a
   batch) -> 429 with Retry-After; 413 at once when the call costs more than the bucket holds.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth import ApiKey, Scope
from gateway.models import PROGRAM_PATTERN
from gateway.problems import GatewayError
from gateway.process_state import ProcessState
from gateway.tls import presented_fingerprint
from ledger.programs import Program
from ledger.reasons import Reason

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="rlk_<key id>_<secret>",
    description="An API key from `ledger keys create`.",
)

ProgramName = Path(pattern=PROGRAM_PATTERN, description="program name, e.g. acme")


async def process_state(request: Request) -> ProcessState:
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread
    # hop on every call for an attribute read.
    found: ProcessState = request.app.state.services
    return found


async def api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    found: Annotated[ProcessState, Depends(process_state)],
) -> ApiKey:
    key = None if credentials is None else await found.keys.authenticate(credentials.credentials)
    if key is None:
        raise GatewayError(
            "unauthenticated",
            "send a valid API key as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if key.client_cert_sha256 is not None and not hmac.compare_digest(
        key.client_cert_sha256, presented_fingerprint(request.scope) or ""
    ):
        # A bound key alone is not enough: a leaked token is useless without the key pair
        # of the certificate, which never leaves the partner.
        raise GatewayError(
            "client_certificate_required",
            "this key is used only over HTTPS with the client certificate it was created "
            "for (`ledger keys create --client-cert`)",
        )
    return key


@dataclass(frozen=True, slots=True)
class Access:
    key: ApiKey
    program: Program
    services: ProcessState

    def require(self, scope: Scope) -> None:
        if not self.key.allows(scope):
            raise GatewayError("scope_missing", f"this needs the {scope.value} scope")

    async def charge(self, cost: int) -> None:
        await charge(self.services, self.key, cost)

    async def knowing(self, assets: Iterable[str]) -> Access:
        """This access, with the program caught up when it lacks one of `assets` (one created
        a moment ago through another gateway must not be called unknown)."""
        if all(asset in self.program.assets for asset in assets):
            return self
        fresh = (await self.services.programs.catch_up()).get(self.program.name, self.program)
        return replace(self, program=fresh)


async def charge(found: ProcessState, key: ApiKey, cost: int) -> None:
    """Take `cost` tokens of the key's bucket: 429 with Retry-After when they are not there
    yet, 413 at once when they never can be (more than the burst)."""
    settings = found.settings
    rate = key.rate_per_s or settings.gateway_rate_per_s
    burst = key.rate_burst or settings.gateway_rate_burst
    if cost > burst:
        raise GatewayError(
            "batch_exceeds_burst",
            f"this call costs {cost} tokens and this key's bucket holds {burst}: send at most "
            f"{burst} transactions per batch",
            extras={"cost": cost, "burst": burst},
        )
    verdict = await found.limiter.take(key.key_id, rate, burst, cost)
    if not verdict.allowed:
        found.metrics.rate_limited.inc()
        raise GatewayError(
            "rate_limited",
            f"this key may make {rate} calls per second (bursts of {burst})",
            headers={"Retry-After": str(verdict.retry_after_s)},
            extras={"retry_after_s": verdict.retry_after_s},
        )


def program_access(*scopes: Scope, cost: int = 1) -> Callable[..., Awaitable[Access]]:
    """Dependency: the caller may use `program` with one of `scopes`; `cost` tokens charged
    (0: the route charges what the call costs itself)."""

    async def check(
        program: Annotated[str, ProgramName],
        key: Annotated[ApiKey, Depends(api_key)],
        found: Annotated[ProcessState, Depends(process_state)],
    ) -> Access:
        configured = found.programs.get(program) if key.sees(program) else None
        if configured is None and key.sees(program):  # created a moment ago elsewhere?
            configured = (await found.programs.catch_up()).get(program)
        if configured is None:
            raise GatewayError(Reason.PROGRAM_UNKNOWN, f"no program {program!r}")
        if not any(key.allows(scope) for scope in scopes):
            raise GatewayError(
                "scope_missing", f"this needs one of: {', '.join(s.value for s in scopes)}"
            )
        access = Access(key, configured, found)
        if cost:
            await access.charge(cost)
        return access

    return check
