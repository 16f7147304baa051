"""Everything a gateway process holds while it runs, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio

from gateway.account_streams import AccountStreams
from gateway.auth import KeyStore
from gateway.dashboard.activity import Activity
from gateway.dashboard.lag import JournalLag
from gateway.idempotency import IdempotencyStore
from gateway.live_programs import LivePrograms
from gateway.metrics import GatewayMetrics
from gateway.outcomes import OutcomeWaiter
from gateway.producer import RequestProducer
from gateway.ratelimit import RateLimiter
from gateway.regional import RegionalModels
from gateway.writes import Writer
from readmodel.qualifying import QualifyingStore
from readmodel.reader import ReadModel
from settings import Settings


@dataclass(frozen=True, slots=True)
class ProcessState:
    settings: Settings
    programs: LivePrograms
    redis: redis.asyncio.Redis
    read_model: ReadModel
    keys: KeyStore
    limiter: RateLimiter
    claims: IdempotencyStore
    producer: RequestProducer
    waiter: OutcomeWaiter
    writer: Writer
    metrics: GatewayMetrics
    activity: Activity
    lag: JournalLag
    account_streams: AccountStreams
    qualifying: QualifyingStore
    # This region's model and the other regions' copies (one model without regions).
    regional: RegionalModels
