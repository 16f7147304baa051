"""Schemathesis against the live OpenAPI of a running gateway: no 5xx, no response that
breaks the published schema (status codes, content types, bodies, headers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.auth import Scope
from tests.integration.gateway.conftest import Ledger

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)
EXAMPLES_MAX = 25
"""Per operation and phase; the whole run stays well under a minute on 2 cores."""


def test_schemathesis_finds_no_server_error_nor_schema_violation(
    ledger: Ledger, tmp_path: Path
) -> None:
    token = ledger.key(Scope.ADMIN, rate_per_s=1_000_000, rate_burst=1_000_000)
    config = tmp_path / "schemathesis.toml"
    config.write_text('[parameters]\n"path.program" = "acme"\n')
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file",
            str(config),
            "run",
            f"{ledger.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            # An event stream never ends by itself: its own test reads it with an SSE client
            # (test_events_stream.py); here each example would wait for the request timeout.
            # Qualifying points answer 503 while their extension does not run (this stack runs
            # none); tests/integration/extensions/ runs it and checks the answers.
            "--exclude-path-regex",
            "/(events|qualifying-points)$",
            "--max-examples",
            str(EXAMPLES_MAX),
            # One worker: concurrent workers hit a CPython 3.11 `ast` thread-safety bug inside
            # schemathesis's coverage phase ("AST constructor recursion depth mismatch").
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--generation-database",
            "none",
            "--seed",
            "20261125",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
