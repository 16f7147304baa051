"""Prometheus metrics of the gateway, served on LEDGER_GATEWAY_METRICS_PORT.

One process serves its own registry. With several uvicorn workers (`ledger gateway --workers
N`), prometheus_client's multiprocess mode: `ledger gateway` gives the workers one fresh
directory (PROMETHEUS_MULTIPROC_DIR) where each writes its counters, and serves the sum of all
of them itself (`serve_workers`); a worker then serves nothing. Labels are bounded: routes are
templates (`/v1/programs/{program}/...`), never raw paths, and API keys never appear.
"""

from __future__ import annotations

import logging
import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ledger_gateway_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ledger_gateway_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.outcomes = Counter(
            "ledger_gateway_outcomes",
            "Outcomes of submitted transactions (PENDING = timed out waiting)",
            ["status", "reason"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "ledger_gateway_rate_limited",
            "Requests refused by the rate limit",
            registry=self.registry,
        )


log = logging.getLogger("ledger.gateway")


MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


def serve(metrics: GatewayMetrics, port: int, host: str) -> None:
    """Expose the registry on its own port; a port already taken is a warning, not a stop.
    A worker of several serves nothing: the parent serves them all (`serve_workers`)."""
    if port <= 0 or os.environ.get(MULTIPROCESS_DIRECTORY):
        return
    try:
        start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as error:
        log.warning("gateway metrics not served on %s:%d: %s", host, port, error)


def serve_workers(port: int, host: str, directory: str) -> None:
    """Serve the sum of every worker's metrics, read from their files in `directory`."""
    if port <= 0:
        return
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    start_http_server(port, addr=host, registry=registry)


class MetricsMiddleware:
    """Counts and times every HTTP answer by route template (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
            self.metrics.requests.labels(method, route, str(status)).inc()
