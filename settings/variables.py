"""How a setting is read from its variable: strictly, naming the variable when it cannot be.

`bool("false")` is True; a malformed value never silently falls back to a default here.
"""

from __future__ import annotations

from dataclasses import dataclass


class SettingsError(ValueError):
    """A variable has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True, slots=True)
class EnvVar:
    name: str
    attribute: str
    kind: type
    description: str
    # Integers below this are refused; 0 is allowed only where it means "off".
    minimum: int = 1
    # For a text setting: the values it may take (empty: any).
    choices: tuple[str, ...] = ()

    def parse(self, raw: str) -> object:
        if self.kind is int:
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{self.name} must be an integer, got {raw!r}") from None
            if value < self.minimum:
                raise SettingsError(f"{self.name} must be at least {self.minimum}, got {value}")
            return value
        if self.choices and raw not in self.choices:
            raise SettingsError(
                f"{self.name} must be one of {', '.join(self.choices)}, got {raw!r}"
            )
        return raw
