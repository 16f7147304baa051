"""Which partner wants which journal events: `config/partners.toml`, validated at start-up.

    [partners.<id>]
    url = "https://partner.example/webhooks/ledger"
    secret_env = "PARTNER_<ID>_SECRET"   # name of the environment variable holding the secret
    programs = ["acme"]                  # required
    operations = ["REDEEM"]              # optional: all when absent
    statuses = ["APPLIED"]               # optional: all when absent
    assets = ["voucher_coffee"]          # optional: all when absent
    max_attempts = 8                     # then the notification goes to the notifications DLQ
    timeout_ms = 5000                    # one HTTP attempt
    queue_max = 1000                     # notifications waiting for this partner, at most

The secret never sits in the file: files are copied, committed and logged; the environment of
the notifier process is not. A subscription whose secret variable is unset is refused.

    PartnerConfigError(ValueError)   the file or one of its keys is wrong; the message says which
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.model import LedgerEvent
from processors.errors import ProcessorError

PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
KEYS = frozenset(
    {
        "url",
        "secret_env",
        "programs",
        "operations",
        "statuses",
        "assets",
        "max_attempts",
        "timeout_ms",
        "queue_max",
    }
)
MAX_ATTEMPTS_DEFAULT = 8
TIMEOUT_MS_DEFAULT = 5_000
QUEUE_MAX_DEFAULT = 1_000


class PartnerConfigError(ProcessorError, ValueError):
    """The partners file is wrong; the message names the key."""


@dataclass(frozen=True, slots=True)
class Subscription:
    partner: str
    url: str
    secret: bytes
    programs: frozenset[str]
    operations: frozenset[str] | None
    statuses: frozenset[str] | None
    assets: frozenset[str] | None
    max_attempts: int
    timeout_ms: int
    queue_max: int

    def wants(self, event: LedgerEvent) -> bool:
        request = event.request
        return (
            event.program in self.programs
            and (self.operations is None or request.operation.value in self.operations)
            and (self.statuses is None or event.status.value in self.statuses)
            and (self.assets is None or request.asset in self.assets)
        )


def load_subscriptions(path: str | Path, environ: Mapping[str, str]) -> list[Subscription]:
    try:
        document = tomllib.loads(Path(path).read_text())
    except OSError as error:
        raise PartnerConfigError(f"{path}: cannot read: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise PartnerConfigError(f"{path}: invalid TOML: {error}") from error
    return parse_subscriptions(document, environ)


def parse_subscriptions(
    document: Mapping[str, Any], environ: Mapping[str, str]
) -> list[Subscription]:
    partners = document.get("partners", {})
    if not isinstance(partners, Mapping):
        raise PartnerConfigError("partners: must be a table of partner tables")
    return [_subscription(name, table, environ) for name, table in partners.items()]


def _subscription(name: str, table: Any, environ: Mapping[str, str]) -> Subscription:
    path = f"partners.{name}"
    if not PARTNER_ID.match(name):
        raise PartnerConfigError(f"{path}: partner id must be lowercase letters, digits, _ or -")
    if not isinstance(table, Mapping):
        raise PartnerConfigError(f"{path}: must be a table")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise PartnerConfigError(f"{path}.{unknown[0]}: unknown key")
    url = _required_str(table, "url", path)
    if not url.startswith(("http://", "https://")):
        raise PartnerConfigError(f"{path}.url: must be an http(s) URL")
    secret_env = _required_str(table, "secret_env", path)
    secret = environ.get(secret_env, "")
    if not secret:
        raise PartnerConfigError(f"{path}.secret_env: environment variable {secret_env} is unset")
    programs = _names(table, "programs", path)
    if programs is None or not programs:
        raise PartnerConfigError(f"{path}.programs: at least one program is required")
    return Subscription(
        partner=name,
        url=url,
        secret=secret.encode(),
        programs=programs,
        operations=_names(table, "operations", path),
        statuses=_names(table, "statuses", path),
        assets=_names(table, "assets", path),
        max_attempts=_positive(table, "max_attempts", MAX_ATTEMPTS_DEFAULT, path),
        timeout_ms=_positive(table, "timeout_ms", TIMEOUT_MS_DEFAULT, path),
        queue_max=_positive(table, "queue_max", QUEUE_MAX_DEFAULT, path),
    )


def _required_str(table: Mapping[str, Any], key: str, path: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise PartnerConfigError(f"{path}.{key}: a non-empty string is required")
    return value


def _names(table: Mapping[str, Any], key: str, path: str) -> frozenset[str] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PartnerConfigError(f"{path}.{key}: must be a list of names")
    return frozenset(value)


def _positive(table: Mapping[str, Any], key: str, default: int, path: str) -> int:
    value = table.get(key, default)
    if type(value) is not int or value <= 0:
        raise PartnerConfigError(f"{path}.{key}: must be a positive integer")
    return value
