"""The secure local stack's passwords: generated once, kept in one private file.

`<home>/credentials.json` (mode 0600) maps each user (the launcher's `admin` and every
principal of the access file) to a random password. The same password serves the principal's
SCRAM user on Kafka and its ACL user on Redis. For each principal the launcher also writes
`<home>/credentials/<principal>.env`, the variables a process needs to run as it (`set -a;
. that-file; set +a`): nothing else ever has to copy a password by hand.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

PASSWORD_BYTES = 24


class StackCredentials:
    def __init__(self, home: Path) -> None:
        self.path = home / "credentials.json"
        self.env_dir = home / "credentials"

    def passwords(self, users: Iterable[str]) -> dict[str, str]:
        """Each user's password, generating (and keeping) those not yet known."""
        known = self._load()
        wanted = list(users)
        missing = [user for user in wanted if user not in known]
        if missing:
            known.update({user: secrets.token_urlsafe(PASSWORD_BYTES) for user in missing})
            _write_private(self.path, json.dumps(known, indent=2, sort_keys=True) + "\n")
        return {user: known[user] for user in wanted}

    def password(self, user: str) -> str:
        return self.passwords([user])[user]

    def write_env_file(self, principal: str, variables: Mapping[str, str]) -> Path:
        self.env_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.env_dir, 0o700)
        path = self.env_dir / f"{principal}.env"
        _write_private(path, "".join(f"{name}={value}\n" for name, value in variables.items()))
        return path

    def _load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        loaded = json.loads(self.path.read_text())
        return {str(user): str(password) for user, password in loaded.items()}


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
