"""The HTTP shapes of program administration (gateway/routes/programs.py).

A definition travels as JSON in exactly the keys and units of `[programs.<name>]` in
config/programs.toml (durations as "15m"/"365d" strings, amounts as integers of minor units),
so that a table can move between the file and the API unchanged, and every error names a key
the file's documentation explains.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.models import PROGRAM_PATTERN

_POINTS_EXAMPLE: dict[str, JsonValue] = {
    "kind": "points",
    "scale": 0,
    "transferable": True,
    "lot_lifetime": "365d",
    "lot_expiry_granularity": "1d",
    "clawback": "reject",
    "amount_max": 1_000_000,
}


class ProgramIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "program": "globex",
                    "definition": {
                        "idempotency_window": "24h",
                        "assets": {"points": _POINTS_EXAMPLE},
                    },
                }
            ]
        },
    )
    program: str = Field(pattern=PROGRAM_PATTERN, description="name of the new program")
    definition: dict[str, Any] = Field(
        description="what `[programs.<program>]` of config/programs.toml holds, assets included"
    )


class AssetIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"asset": "gems", "definition": _POINTS_EXAMPLE}]},
    )
    asset: str = Field(pattern=PROGRAM_PATTERN, description="code of the new asset")
    definition: dict[str, Any] = Field(
        description="what `[programs.<program>.assets.<asset>]` of config/programs.toml holds"
    )


class ProgramVersionOut(BaseModel):
    program: str
    version: int = Field(description="1 when created or seeded, one more per change")
    change: str = Field(description="seed, create, add_asset, change_asset or change_program")
    changed_at_ms: int
    changed_by: str = Field(description="who made the change (`apikey:<key_id>`, `core:...`)")
    definition: dict[str, Any]


class ProgramsOut(BaseModel):
    programs: list[ProgramVersionOut] = Field(description="the latest version of each")


class ProgramVersionsOut(BaseModel):
    versions: list[ProgramVersionOut] = Field(description="every version, oldest first")
