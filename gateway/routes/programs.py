"""Programs and assets at run time: `/v1/programs` (the `programs:admin` scope changes them).

A change is validated like config/programs.toml (the same errors, naming the key), written
as the next version on the programs topic, and answered once this process sees it; every
core and gateway follows the topic, and every journal event records the version it was
decided with. `If-Match: "<version>"` makes a change conditional on the version it was built
from (412 when another change came first).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from confluent_kafka import KafkaException
from fastapi import APIRouter, Body, Depends, Header, Path, Response

from gateway.access import ProgramName, api_key, charge, process_state
from gateway.auth import ApiKey, Scope
from gateway.models import PROGRAM_PATTERN
from gateway.problems import GatewayError
from gateway.process_state import ProcessState
from gateway.program_models import (
    AssetIn,
    ProgramIn,
    ProgramsOut,
    ProgramVersionOut,
    ProgramVersionsOut,
)
from gateway.render import json_body
from gateway.routes import PROBLEM_RESPONSES
from gateway.strict_json import StrictJsonRoute
from ledger.program_changes import (
    AssetExists,
    AssetMissing,
    ChangeKind,
    ProgramCatalogue,
    ProgramExists,
    ProgramMissing,
    ProgramVersion,
    VersionConflict,
    first_version,
    next_version,
    with_asset_changes,
    with_new_asset,
    with_program_changes,
)
from ledger.programs import ConfigError
from schemas.program_feed import ProgramFeedError
from schemas.program_writer import Change, ProgramWriteConflict

VERSION_DIGITS_MAX = 18

router = APIRouter(tags=["programs"], route_class=StrictJsonRoute)

AssetCode = Annotated[str, Path(pattern=PROGRAM_PATTERN, description="asset code, e.g. points")]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='`"<version>"`: change only that version'),
]
Changes = Annotated[
    dict[str, Any],
    Body(
        description="keys to change, in the programs file's units; null puts a key back to "
        "its default",
        openapi_examples={"limit": {"value": {"amount_max": 500000, "lot_lifetime": "180d"}}},
    ),
]


async def _caller(
    key: Annotated[ApiKey, Depends(api_key)],
    found: Annotated[ProcessState, Depends(process_state)],
) -> ApiKey:
    await charge(found, key, 1)
    return key


async def _administrator(key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
    if not key.allows(Scope.PROGRAMS_ADMIN):
        raise GatewayError("scope_missing", "this needs the programs:admin scope")
    return key


Caller = Annotated[ApiKey, Depends(_caller)]
Administrator = Annotated[ApiKey, Depends(_administrator)]
Found = Annotated[ProcessState, Depends(process_state)]


@router.get(
    "/v1/programs",
    summary="Programs this key sees (every program for programs:admin), latest versions",
    response_model=ProgramsOut,
    responses=PROBLEM_RESPONSES,
)
async def list_programs(key: Caller, found: Found) -> Response:
    catalogue = found.programs.known()
    versions = [
        version
        for name in catalogue.names()
        if _may_read(key, name) and (version := catalogue.latest(name)) is not None
    ]
    return json_body(ProgramsOut(programs=[_out(version) for version in versions]))


@router.post(
    "/v1/programs",
    summary="Create a program with its assets (version 1)",
    status_code=201,
    response_model=ProgramVersionOut,
    responses=PROBLEM_RESPONSES,
)
async def create_program(body: ProgramIn, key: Administrator, found: Found) -> Response:
    def change(catalogue: ProgramCatalogue) -> ProgramVersion | None:
        versions = catalogue.versions(body.program)
        if versions and versions[0].definition == body.definition:
            return None  # a retry of the creation: answered with the program as it is
        if versions:
            raise ProgramExists(f"programs.{body.program}", "the program exists already")
        return first_version(body.program, body.definition, ChangeKind.CREATE, _now(), by)

    by = key.principal
    return await _write(found, change, 201, body.program)


@router.get(
    "/v1/programs/{program}",
    summary="A program's latest definition and version",
    response_model=ProgramVersionOut,
    responses=PROBLEM_RESPONSES,
)
async def get_program(program: Annotated[str, ProgramName], key: Caller, found: Found) -> Response:
    return _answer(_latest(found.programs.known(), program, key))


@router.get(
    "/v1/programs/{program}/versions",
    summary="Every version of a program's definition, oldest first",
    response_model=ProgramVersionsOut,
    responses=PROBLEM_RESPONSES,
)
async def list_versions(
    program: Annotated[str, ProgramName], key: Caller, found: Found
) -> Response:
    catalogue = found.programs.known()
    _latest(catalogue, program, key)
    versions = [_out(version) for version in catalogue.versions(program)]
    return json_body(ProgramVersionsOut(versions=versions))


@router.patch(
    "/v1/programs/{program}",
    summary="Change program-wide keys (windows, hold timeouts)",
    response_model=ProgramVersionOut,
    responses=PROBLEM_RESPONSES,
)
async def change_program(
    program: Annotated[str, ProgramName],
    changes: Changes,
    key: Administrator,
    found: Found,
    if_match: IfMatch = None,
) -> Response:
    def build(current: ProgramVersion) -> dict[str, Any]:
        return with_program_changes(current, changes)

    change = _next(program, build, ChangeKind.CHANGE_PROGRAM, if_match, key)
    return await _write(found, change, 200, program)


@router.post(
    "/v1/programs/{program}/assets",
    summary="Add an asset to a program",
    status_code=201,
    response_model=ProgramVersionOut,
    responses=PROBLEM_RESPONSES,
)
async def add_asset(
    program: Annotated[str, ProgramName],
    body: AssetIn,
    key: Administrator,
    found: Found,
    if_match: IfMatch = None,
) -> Response:
    def build(current: ProgramVersion) -> dict[str, Any]:
        if current.definition["assets"].get(body.asset) == body.definition:
            return dict(current.definition)  # a retry of the addition: nothing to write
        return with_new_asset(current, body.asset, body.definition)

    change = _next(program, build, ChangeKind.ADD_ASSET, if_match, key)
    return await _write(found, change, 201, program)


@router.patch(
    "/v1/programs/{program}/assets/{asset}",
    summary="Change an asset's limits, lifetime, transferability or clawback",
    description="`kind` and `scale` cannot change once the asset exists (422).",
    response_model=ProgramVersionOut,
    responses=PROBLEM_RESPONSES,
)
async def change_asset(
    program: Annotated[str, ProgramName],
    asset: AssetCode,
    changes: Changes,
    key: Administrator,
    found: Found,
    if_match: IfMatch = None,
) -> Response:
    def build(current: ProgramVersion) -> dict[str, Any]:
        return with_asset_changes(current, asset, changes)

    change = _next(program, build, ChangeKind.CHANGE_ASSET, if_match, key)
    return await _write(found, change, 200, program)


def _next(
    name: str,
    build: Callable[[ProgramVersion], dict[str, Any]],
    kind: ChangeKind,
    if_match: str | None,
    key: ApiKey,
) -> Change:
    expected = _expected_version(if_match)

    def change(catalogue: ProgramCatalogue) -> ProgramVersion | None:
        current = catalogue.latest(name)
        if current is None:
            raise ProgramMissing(f"programs.{name}", "no such program")
        if expected is not None and expected != current.version:
            raise VersionConflict(f"programs.{name}", expected, current.version)
        definition = build(current)
        if definition == current.definition:  # a retry, or nothing to change
            return None
        return next_version(current, definition, kind, _now(), key.principal)

    return change


async def _write(
    found: ProcessState, change: Change, status: int, name: str | None = None
) -> Response:
    try:
        version = await found.programs.change(change)
        if version is None and name is not None:  # no new version: the one it stays at
            version, status = found.programs.known().latest(name), 200
    except ProgramMissing as missing:
        raise GatewayError("program_unknown", str(missing)) from None
    except AssetMissing as missing:
        raise GatewayError("not_found", str(missing)) from None
    except (ProgramExists, AssetExists) as exists:
        raise GatewayError("program_conflict", str(exists), extras={"key": exists.path}) from None
    except VersionConflict as conflict:
        raise GatewayError(
            "version_conflict", str(conflict), extras={"version": conflict.current}
        ) from None
    except ConfigError as invalid:
        raise GatewayError("program_invalid", str(invalid), extras={"key": invalid.path}) from None
    except ProgramWriteConflict as conflict:
        raise GatewayError("change_conflict", str(conflict), headers={"Retry-After": "1"}) from None
    except (ProgramFeedError, KafkaException) as error:
        raise GatewayError("unavailable", f"the programs topic: {error}") from None
    assert version is not None  # a change builds a version, or names the one it kept
    return _answer(version, status)


def _latest(catalogue: ProgramCatalogue, name: str, key: ApiKey) -> ProgramVersion:
    version = catalogue.latest(name) if _may_read(key, name) else None
    if version is None:
        raise GatewayError("program_unknown", f"no program {name!r}")
    return version


def _may_read(key: ApiKey, name: str) -> bool:
    return key.sees(name) or key.allows(Scope.PROGRAMS_ADMIN)


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":  # "*": whatever version it is at
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit() and len(text) <= VERSION_DIGITS_MAX):
        raise GatewayError("validation_error", 'If-Match must be one version: "3"')
    return int(text)


def _answer(version: ProgramVersion, status: int = 200) -> Response:
    response = json_body(_out(version))
    response.status_code = status
    response.headers["ETag"] = f'"{version.version}"'
    if status == 201:
        response.headers["Location"] = f"/v1/programs/{version.name}"
    return response


def _out(version: ProgramVersion) -> ProgramVersionOut:
    return ProgramVersionOut(
        program=version.name,
        version=version.version,
        change=version.change.value,
        changed_at_ms=version.changed_at_ms,
        changed_by=version.changed_by,
        definition=dict(version.definition),
    )


def _now() -> int:
    return int(time.time() * 1000)
