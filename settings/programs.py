"""Reading the programs file: the edge where configuration comes from disk.

The domain parses (`ledger.programs.parse_programs`, a mapping in, frozen values out); this
reads the TOML file named by `LEDGER_PROGRAMS_CONFIG` and reports a file that cannot be read
or is not TOML with the domain's own `ConfigFileError`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ledger.programs import ConfigFileError, Program, parse_programs


def load_programs(path: str | Path) -> dict[str, Program]:
    """Read and validate a programs TOML file. Raises a ConfigError subclass."""
    return parse_programs(_read(path))


def load_program_tables(path: str | Path) -> dict[str, dict[str, Any]]:
    """The programs file's tables, `[programs.<name>]` each, once they validate: what seeds
    the programs topic of a new installation. Raises a ConfigError subclass."""
    document = _read(path)
    parse_programs(document)
    return {name: dict(table) for name, table in document["programs"].items()}


def _read(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ConfigFileError(str(path), f"cannot read: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(str(path), f"invalid TOML: {error}") from error
    return document
