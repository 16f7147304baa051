"""The gateway's FastAPI application: `create_app(settings)` wires everything.

The lifespan opens the process's long-lived resources once (Redis pool, Kafka producer and
its poll thread, the outcome subscription) and closes them in reverse order. OpenAPI is at
/openapi.json, interactive docs at /docs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import redis.asyncio
from fastapi import FastAPI

from gateway.account_streams import AccountStreams
from gateway.auth import KeyStore
from gateway.bodylimit import BodyLimitMiddleware
from gateway.dashboard.activity import Activity
from gateway.dashboard.lag import JournalLag
from gateway.dashboard.lag_sampler import LagSampler
from gateway.headers import SecurityHeadersMiddleware
from gateway.idempotency import IdempotencyStore
from gateway.live_programs import LivePrograms
from gateway.metrics import GatewayMetrics, MetricsMiddleware
from gateway.metrics import serve as serve_metrics
from gateway.outcomes import OutcomeWaiter
from gateway.problems import install_problem_handlers
from gateway.process_state import ProcessState
from gateway.producer import RequestProducer
from gateway.ratelimit import RateLimiter
from gateway.regional import RegionalModels
from gateway.routes import dashboard, events, ops, reads, transactions
from gateway.routes import programs as programs_routes
from gateway.trace import TraceMiddleware
from gateway.writes import Writer
from ledger.programs import FixedPrograms, Program
from readmodel.keys import reply_channel
from readmodel.qualifying import QualifyingStore
from readmodel.reader import ReadModel
from schemas.contracts import WireContracts
from schemas.program_writer import follow_programs
from settings import Settings
from settings.programs import load_program_tables

REDIS_CONNECTIONS_MAX = 64
REDIS_CONNECTION_WAIT_S = 5.0

DESCRIPTION = """\
HTTP API of the reward ledger. Writes are produced to Kafka as Avro `TransactionRequest`s and
applied exactly once by the ledger core; the call waits for the outcome (201 / 422 / 202).
Reads come from the Redis read model. Authenticate with `Authorization: Bearer <API key>`
(`ledger keys create`). Amounts are integers in minor units, or decimal strings (`"12.50"`).
Errors are RFC 9457 problem+json; `code` is the reason (see `/problems/{code}`).
"""


def _outcome_route(
    client: redis.asyncio.Redis, settings: Settings
) -> tuple[OutcomeWaiter, RequestProducer]:
    """This process's reply channel: every request it produces names it, the mirror publishes
    the outcome there only, and the waiter listens to it alone."""
    reply_to = uuid.uuid4().hex
    waiter = OutcomeWaiter(client, reply_channel(settings.redis_key_prefix, reply_to))
    return waiter, RequestProducer(settings, reply_to)


def _process_state(
    settings: Settings,
    programs: LivePrograms,
    client: redis.asyncio.Redis,
    metrics: GatewayMetrics,
) -> ProcessState:
    """Everything the routes use, built once per process (started by the lifespan)."""
    read_model = ReadModel(client, settings.redis_key_prefix)
    activity = Activity()
    waiter, producer = _outcome_route(client, settings)
    claims = IdempotencyStore(client, settings.redis_key_prefix)
    regional = RegionalModels(client, settings, read_model)
    writer = Writer(
        producer,
        WireContracts.for_registry(settings.schema_registry_url),
        claims,
        waiter,
        regional,
        programs,
        settings.gateway_outcome_timeout_ms / 1000,
        activity=activity,
    )
    lag = JournalLag(settings, read_model)
    account_streams = AccountStreams(client, settings.redis_key_prefix)
    return ProcessState(
        settings=settings,
        programs=programs,
        redis=client,
        read_model=read_model,
        keys=KeyStore(client, settings.redis_key_prefix),
        limiter=RateLimiter(client, settings.redis_key_prefix),
        claims=claims,
        producer=producer,
        waiter=waiter,
        writer=writer,
        metrics=metrics,
        activity=activity,
        lag=lag,
        account_streams=account_streams,
        qualifying=QualifyingStore(client, settings.redis_key_prefix),
        regional=regional,
    )


def create_app(settings: Settings, programs: Mapping[str, Program] | None = None) -> FastAPI:
    metrics = GatewayMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serve_metrics(metrics, settings.gateway_metrics_port, settings.metrics_host)
        feed = None
        if programs is None:
            feed, program_writer = await asyncio.to_thread(
                follow_programs,
                settings.kafka_config(),
                settings.topics.programs,
                settings.topics.programs_writer_id,
                load_program_tables(settings.programs_config),
                "gateway",
            )
            configured = LivePrograms(feed, feed.catalogue, program_writer)
        else:
            configured = LivePrograms(FixedPrograms(programs))
        try:
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=REDIS_CONNECTIONS_MAX,
                timeout=REDIS_CONNECTION_WAIT_S,
            )
            client = redis.asyncio.Redis(connection_pool=pool)
            app.state.services = services = _process_state(settings, configured, client, metrics)
            waiter, producer, lag = services.waiter, services.producer, services.lag
            account_streams = services.account_streams
            sampler = LagSampler(settings, client, lag)
            await waiter.start()
            await account_streams.start()
            await sampler.start()
            try:
                yield
            finally:
                await sampler.stop()
                await account_streams.stop()
                await waiter.stop()
                lag.close()
                producer.close()
                await client.aclose()
                await pool.aclose()
        finally:
            if feed is not None:  # however the start went
                feed.close()

    app = FastAPI(
        title="Reward ledger API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(transactions.router)
    app.include_router(reads.router)
    app.include_router(events.router)
    app.include_router(programs_routes.router)
    app.include_router(ops.router)
    app.include_router(dashboard.router)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimitMiddleware, body_bytes_max=settings.gateway_body_bytes_max)
    app.add_middleware(TraceMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
