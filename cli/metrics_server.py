"""Serve a process's Prometheus metrics on /metrics, the same way for every `ledger` process."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


def serve_metrics(port: int, host: str) -> None:
    """Expose /metrics; a port already taken is a warning, never a reason to stop a process."""
    if port <= 0:
        return
    try:
        start_http_server(port, addr=host)
    except OSError as error:
        log.warning("metrics not served on %s:%d: %s", host, port, error)
    else:
        log.info("metrics on http://%s:%d/metrics", host, port)
