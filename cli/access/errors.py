"""The access package's one expected failure."""

from __future__ import annotations

from cli.errors import CliError


class AccessError(CliError):
    """The access file cannot be used, or the broker or Redis refused to apply it; the
    message says which line of thought to follow."""
