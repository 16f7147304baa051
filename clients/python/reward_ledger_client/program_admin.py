"""Programs and assets at run time, written once for both clients: each method builds its
call and hands it to the client's sender (a value for `LedgerClient`, an awaitable for
`AsyncLedgerClient`). Changes need a key with the `programs:admin` scope.

`if_version=` makes a change conditional: `Conflict` (412 version_conflict) when the program
moved on since that version. Changing a key to the value it has writes no new version, so a
retried change is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from reward_ledger_client.models import ProgramVersion
from reward_ledger_client.protocol import Call

V = TypeVar("V")
L = TypeVar("L")


class ProgramAdmin(Generic[V, L]):
    def _send_version(self, call: Call[ProgramVersion]) -> V:
        raise NotImplementedError

    def _send_versions(self, call: Call[list[ProgramVersion]]) -> L:
        raise NotImplementedError

    def programs(self) -> L:
        """The latest version of every program this key sees."""
        return self._send_versions(Call("GET", "/v1/programs", _listed("programs")))

    def program(self, program: str) -> V:
        return self._send_version(Call("GET", _path(program), _version))

    def program_versions(self, program: str) -> L:
        """Every version of the program, oldest first."""
        return self._send_versions(Call("GET", f"{_path(program)}/versions", _listed("versions")))

    def create_program(self, program: str, definition: Mapping[str, Any]) -> V:
        body = {"program": program, "definition": dict(definition)}
        return self._send_version(Call("POST", "/v1/programs", _version, body))

    def change_program(
        self, program: str, changes: Mapping[str, Any], if_version: int | None = None
    ) -> V:
        call = Call("PATCH", _path(program), _version, dict(changes), headers=_if(if_version))
        return self._send_version(call)

    def add_asset(
        self,
        program: str,
        asset: str,
        definition: Mapping[str, Any],
        if_version: int | None = None,
    ) -> V:
        body = {"asset": asset, "definition": dict(definition)}
        call = Call("POST", f"{_path(program)}/assets", _version, body, headers=_if(if_version))
        return self._send_version(call)

    def change_asset(
        self,
        program: str,
        asset: str,
        changes: Mapping[str, Any],
        if_version: int | None = None,
    ) -> V:
        path = f"{_path(program)}/assets/{quote(asset, safe='')}"
        return self._send_version(
            Call("PATCH", path, _version, dict(changes), headers=_if(if_version))
        )


def _version(response: httpx.Response) -> ProgramVersion:
    return ProgramVersion.of(response.json())


def _listed(field: str) -> Any:
    return lambda response: [ProgramVersion.of(item) for item in response.json()[field]]


def _path(program: str) -> str:
    return f"/v1/programs/{quote(program, safe='')}"


def _if(version: int | None) -> dict[str, str]:
    return {} if version is None else {"If-Match": f'"{version}"'}
