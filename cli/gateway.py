"""`ledger gateway`: the HTTP API (FastAPI on uvicorn) in the foreground."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
from dataclasses import replace
from typing import Any

import uvicorn

from cli.logs import configure_logging
from gateway.app import create_app
from gateway.metrics import MULTIPROCESS_DIRECTORY, serve_workers
from gateway.tls import uvicorn_tls_options
from settings import Settings
from settings.programs import load_programs

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gateway",
        help="serve the HTTP API (writes to Kafka, reads from Redis) until Ctrl-C",
        description=(
            "Serves the HTTP API: OpenAPI at /openapi.json, docs at /docs, /healthz, /readyz, "
            "/metrics. API keys come from `ledger keys create`. Stops cleanly on SIGTERM."
        ),
    )
    parser.add_argument("--host", help="address to listen on (env LEDGER_GATEWAY_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (env LEDGER_GATEWAY_PORT)")
    parser.add_argument(
        "--workers", type=int, help="worker processes (env LEDGER_GATEWAY_WORKERS, default 1)"
    )
    parser.set_defaults(handler=_gateway)


def _gateway(args: argparse.Namespace, settings: Settings) -> int:
    settings = replace(
        settings,
        gateway_host=args.host or settings.gateway_host,
        gateway_port=args.port or settings.gateway_port,
        gateway_workers=args.workers or settings.gateway_workers,
    )
    configure_logging(settings.log_format)
    load_programs(settings.programs_config)  # fail fast on a bad configuration
    options: dict[str, Any] = {
        "host": settings.gateway_host,
        "port": settings.gateway_port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "log_level": "info",
        # Leave logging as configured above (JSON lines): uvicorn's loggers propagate to it.
        "log_config": None,
        "timeout_graceful_shutdown": 10,
    }
    tls = uvicorn_tls_options(settings)
    options.update(tls)
    scheme = "https" if tls else "http"
    log.info(
        "gateway listening on %s://%s:%d", scheme, settings.gateway_host, settings.gateway_port
    )
    if settings.gateway_workers > 1:
        _run_workers(settings, options)
    else:
        uvicorn.run(create_app(settings), **options)
    return 0


def _run_workers(settings: Settings, options: dict[str, Any]) -> None:
    """uvicorn workers, each building its app from the environment; their metrics go to one
    fresh directory (prometheus_client's multiprocess mode) and this process serves the sum."""
    directory = tempfile.mkdtemp(prefix="ledger-gateway-metrics-")
    os.environ[MULTIPROCESS_DIRECTORY] = directory  # inherited by the workers at spawn
    try:
        serve_workers(settings.gateway_metrics_port, settings.metrics_host, directory)
        uvicorn.run(
            "gateway.asgi:app_from_environment",
            factory=True,
            workers=settings.gateway_workers,
            **options,
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
