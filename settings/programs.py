"""Reading the programs file: the edge where configuration comes from disk.

The domain parses (`ledger.programs.parse_programs`, a mapping in, frozen values out); this
reads the TOML file named by `LEDGER_PROGRAMS_CONFIG` and reports a file that cannot be read
or is not TOML with the domain's own `ConfigFileError`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ledger.programs import ConfigFileError, Program, parse_programs


def load_programs(path: str | Path) -> dict[str, Program]:
    """Read and validate a programs TOML file. Raises a ConfigError subclass."""
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ConfigFileError(str(path), f"cannot read: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(str(path), f"invalid TOML: {error}") from error
    return parse_programs(document)
