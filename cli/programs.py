"""`ledger programs list|show|versions|create|add-asset|set-asset|set`: programs and assets
at run time, through the HTTP API (LEDGER_API_URL; LEDGER_API_KEY with the programs:admin
scope to change them). Definitions read like config/programs.toml: a new program from a TOML
file holding its table, changes as `key=value` (`amount_max=5000`, `lot_lifetime=180d`,
`transferable=true`, `lot_lifetime=none` for the default)."""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cli.errors import CliError
from cli.tx import client_for
from settings import Settings

if TYPE_CHECKING:
    from reward_ledger_client import LedgerClient, ProgramVersion


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "programs",
        help="list, show and change programs and assets while the ledger runs (HTTP API)",
        description=__doc__,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every program, its version").set_defaults(handler=_list)
    for name, about in (("show", "a program's definition"), ("versions", "every version")):
        action = actions.add_parser(name, help=about)
        action.add_argument("program")
        action.set_defaults(handler=_read)
    create = actions.add_parser("create", help="a new program, from a TOML file")
    create.add_argument("program")
    create.add_argument(
        "--file",
        required=True,
        help="TOML with the program's table: the keys of [programs.<name>], or a whole "
        "programs file holding [programs.<program>]",
    )
    create.set_defaults(handler=_create)
    add = actions.add_parser("add-asset", help="add an asset: key=value ... (kind, scale, ...)")
    set_asset = actions.add_parser("set-asset", help="change an asset: key=value ...")
    for action in (add, set_asset):
        action.add_argument("program")
        action.add_argument("asset")
    set_program = actions.add_parser("set", help="change program-wide keys: key=value ...")
    set_program.add_argument("program")
    for action, handler in ((add, _add), (set_asset, _set_asset), (set_program, _set)):
        action.add_argument("values", nargs="+", metavar="KEY=VALUE", type=_pair)
        action.add_argument("--if-version", type=int, help="only if the program is at it")
        action.set_defaults(handler=handler)
    for action in actions.choices.values():
        action.add_argument("--json", action="store_true", help="print JSON")


def _pair(text: str) -> tuple[str, Any]:
    key, equals, raw = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    lowered = raw.strip().lower()
    value: Any
    if lowered in ("none", "null", "default"):
        value = None
    elif lowered in ("true", "false"):
        value = lowered == "true"
    elif raw.strip().lstrip("-").isdigit():
        value = int(raw)
    else:
        value = raw.strip()
    return key.strip(), value


def _list(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, lambda client: client.programs())


def _read(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "versions":
        return _run(args, settings, lambda client: client.program_versions(args.program))
    return _run(args, settings, lambda client: client.program(args.program))


def _create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with open(args.file, "rb") as file:
            document = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CliError(f"cannot read {args.file}: {error}") from None
    table = document.get("programs", {}).get(args.program, document)
    return _run(args, settings, lambda client: client.create_program(args.program, table))


def _add(args: argparse.Namespace, settings: Settings) -> int:
    definition = dict(args.values)
    return _run(
        args,
        settings,
        lambda c: c.add_asset(args.program, args.asset, definition, args.if_version),
    )


def _set_asset(args: argparse.Namespace, settings: Settings) -> int:
    changes = dict(args.values)
    return _run(
        args,
        settings,
        lambda c: c.change_asset(args.program, args.asset, changes, args.if_version),
    )


def _set(args: argparse.Namespace, settings: Settings) -> int:
    changes = dict(args.values)
    return _run(args, settings, lambda c: c.change_program(args.program, changes, args.if_version))


def _run(
    args: argparse.Namespace,
    settings: Settings,
    call: Callable[[LedgerClient], ProgramVersion | list[ProgramVersion]],
) -> int:
    import httpx
    from reward_ledger_client import LedgerError

    with client_for(settings) as client:
        try:
            answer = call(client)
        except LedgerError as error:
            print(f"{error.status} {error.code}: {error.detail}")
            return 1
        except httpx.TransportError as error:
            raise CliError(f"the gateway at {client.base_url} did not answer: {error}") from None
    versions = answer if isinstance(answer, list) else [answer]
    for version in versions:
        if args.json:
            print(json.dumps(_plain(version), sort_keys=True))
        else:
            _show(version, detailed=args.action == "show")
    return 0


def _show(version: ProgramVersion, detailed: bool) -> None:
    assets = version.definition.get("assets", {})
    print(
        f"{version.program} version {version.version} ({version.change} by "
        f"{version.changed_by}): {', '.join(sorted(assets))}"
    )
    if detailed:
        for key, value in sorted(version.definition.items()):
            if key != "assets":
                print(f"  {key} = {json.dumps(value)}")
        for code, table in sorted(assets.items()):
            shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(table.items()))
            print(f"  assets.{code}: {shown}")


def _plain(version: ProgramVersion) -> dict[str, Any]:
    return {
        "program": version.program,
        "version": version.version,
        "change": version.change,
        "changed_at_ms": version.changed_at_ms,
        "changed_by": version.changed_by,
        "definition": version.definition,
    }
