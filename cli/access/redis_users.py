"""Make Redis's ACL users match the access file.

Each user of the file is set with `ACL SETUSER name on resetkeys resetchannels -@all <rules>`:
its permissions are replaced whole, its passwords are kept (they are set by whoever provisions
credentials: the local stack's launcher, or the operator's own secret store). Then, when the
server keeps its users in an ACL file, `ACL SAVE` makes them survive a restart.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from cli.access.errors import AccessError

NO_ACL_FILE = "not configured to use an ACL file"


def apply(client: redis.Redis, rules: Mapping[str, list[str]]) -> None:
    try:
        for user, user_rules in rules.items():
            client.execute_command("ACL", "SETUSER", user, *user_rules)  # type: ignore[no-untyped-call]
        _save(client)
    except redis.ResponseError as error:
        raise AccessError(f"Redis refused to set its users: {error}") from None


def set_passwords(client: redis.Redis, passwords: Mapping[str, str]) -> None:
    """Give each user exactly one password (the local stack's generated credentials)."""
    for user, password in passwords.items():
        client.execute_command("ACL", "SETUSER", user, "resetpass", f">{password}")  # type: ignore[no-untyped-call]
    _save(client)


def present_users(client: redis.Redis) -> list[str]:
    return sorted(str(u, "utf-8") if isinstance(u, bytes) else str(u) for u in client.acl_users())


def _save(client: redis.Redis) -> None:
    try:
        client.execute_command("ACL", "SAVE")  # type: ignore[no-untyped-call]
    except redis.ResponseError as error:
        if NO_ACL_FILE not in str(error):
            raise
