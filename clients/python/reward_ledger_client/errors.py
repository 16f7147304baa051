"""problem+json answers as typed exceptions: catch the family, read `code` for the reason."""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """An answer of the API that is not a success. `code` is the API's machine-readable code
    (`insufficient_funds`, `rate_limited` ...), `problem` the whole problem+json document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.code: str = str(problem.get("code") or problem.get("type", "").rsplit("/", 1)[-1])
        self.title: str = str(problem.get("title", ""))
        self.detail: str = str(problem.get("detail", ""))
        super().__init__(f"{status} {self.code}: {self.detail or self.title}")


class Rejected(LedgerError):
    """The ledger refused the transaction (422): `code` is the reason; final, do not retry."""


class InvalidRequest(LedgerError):
    """The request is malformed (400): `problem["errors"]` names each field."""


class Unauthenticated(LedgerError):
    """No API key, or one that is unknown, revoked or needs its client certificate (401)."""


class Forbidden(LedgerError):
    """The key lacks the scope, or the channel may not use the operation (403)."""


class NotFound(LedgerError):
    """No such program (for this key), account request, or path (404)."""


class Conflict(LedgerError):
    """The request id was used before with other content (409)."""


class TooLarge(LedgerError):
    """The body, or a batch's cost in tokens, is over the limit (413)."""


class RateLimited(LedgerError):
    """Still 429 after the client's retries; `retry_after_s` is the server's advice."""

    @property
    def retry_after_s(self) -> float:
        return float(self.problem.get("retry_after_s", 1))


class Unavailable(LedgerError):
    """Kafka or Redis is unreachable (503), still after the client's retries."""


class ServerError(LedgerError):
    """An internal error (500): `problem["incident"]` identifies it in the server's logs."""


_BY_STATUS: dict[int, type[LedgerError]] = {
    400: InvalidRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: Conflict,
    413: TooLarge,
    422: Rejected,
    429: RateLimited,
    503: Unavailable,
}


def error_for(status: int, problem: dict[str, Any]) -> LedgerError:
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else LedgerError)
    return kind(status, problem)
