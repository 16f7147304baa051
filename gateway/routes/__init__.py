"""The HTTP routes: writes (transactions.py), reads (reads.py), operations (ops.py)."""

from __future__ import annotations

from typing import Any

from gateway.models import ProblemOut
from gateway.problems import PROBLEM_MEDIA_TYPE

_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ProblemOut,
        "description": "problem+json (RFC 9457)",
        "content": _PROBLEM_CONTENT,
    },
    "5XX": {
        "model": ProblemOut,
        "description": "problem+json (RFC 9457)",
        "content": _PROBLEM_CONTENT,
    },
}
"""Every route documents its errors as problem+json (the table in gateway/problems.py)."""
