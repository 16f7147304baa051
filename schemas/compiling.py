"""What the compiled writer and reader share: generated source built line by line, fresh
local names, and the walk of a schema's structure (named types, null unions) they both follow.

Each compiler says what to emit for every kind of value; this base resolves the names and the
shapes, so both read a schema the same way. Anything the contracts do not use raises
`UnsupportedSchema`, and the codec keeps fastavro for that schema.
"""

from __future__ import annotations

from typing import Any

from schemas.exceptions import CodecError


class UnsupportedSchema(CodecError):
    """The schema uses a construct the compilers do not handle."""


class SourceCompiler:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names = 0
        self.constants: dict[str, object] = {}
        self.named: dict[str, Any] = {}

    def fresh(self) -> str:
        self.names += 1
        return f"v{self.names}"

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def constant(self, value: object) -> str:
        """A name the generated source can use for `value`."""
        name = self.fresh()
        self.constants[name] = value
        return name

    def resolve(self, name: str, namespace: str) -> Any:
        """The named type `name` (declared earlier in the schema) means."""
        full = name if "." in name else f"{namespace}.{name}" if namespace else name
        target = self.named.get(full) or self.named.get(name)
        if target is None:
            raise UnsupportedSchema(f"type {name!r}")
        return target

    def declare(self, schema: dict[str, Any], namespace: str) -> tuple[str, str]:
        """Records a record or enum as a named type: its full name, and the namespace inside."""
        namespace = schema.get("namespace", namespace)
        name = schema["name"]
        full = name if "." in name else f"{namespace}.{name}" if namespace else name
        self.named[full] = schema
        return full, namespace

    @staticmethod
    def null_union(branches: list[Any]) -> tuple[int, Any]:
        """(index of "null", the other branch) of the only unions the contracts use."""
        if len(branches) != 2 or "null" not in branches:
            raise UnsupportedSchema(f"union {branches!r}")
        null_index = branches.index("null")
        return null_index, branches[1 - null_index]

    @staticmethod
    def primitive_of(schema: dict[str, Any]) -> str | None:
        """`{"type": "long"}` and the like: the primitive it spells, None for anything else."""
        kind = schema["type"]
        primitive = ("null", "boolean", "int", "long", "string", "bytes")
        if isinstance(kind, str) and kind in primitive and not schema.get("logicalType"):
            return kind
        return None
