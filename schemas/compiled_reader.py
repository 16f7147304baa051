"""Avro binary readers compiled from a schema into plain Python: the other half of
compiled_writer.py, for bodies written with the current schema.

fastavro's reader walks the schema for every record: reading an event cost 28 µs here, more than
deciding it. `compile_reader` turns a schema into the source of one function that reads the
fields in order and `exec`s it once. It reads exactly what fastavro reads (a property test
compares both), so it is only used where no schema resolution is needed: the writer schema is
the reader schema. Bodies of older writers still go through fastavro's resolution.

Hostile bodies fail as with fastavro: a body that ends early raises EOFError, anything else
malformed (a bad union or enum index, a negative length, invalid UTF-8, a long of more than 10
bytes or outside 64 bits) raises ValueError. The same constructs as the writer are supported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from schemas.compiling import SourceCompiler, UnsupportedSchema

Reader = Callable[[bytes, int], tuple[Any, int]]
"""`read(data, pos)` -> (the record, the position after it)."""

LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A zigzag varint at `pos`; IndexError when the data ends inside it."""
    byte = data[pos]
    pos += 1
    encoded = byte & 0x7F
    shift = 7
    while byte & 0x80:
        if shift > 63:
            raise ValueError("a long of more than 10 bytes")
        byte = data[pos]
        pos += 1
        encoded |= (byte & 0x7F) << shift
        shift += 7
    value = (encoded >> 1) ^ -(encoded & 1)
    if not LONG_MIN <= value <= LONG_MAX:
        raise ValueError(f"{value} does not fit an Avro long")
    return value, pos


class _Compiler(SourceCompiler):
    def __init__(self, builders: Mapping[str, Callable[..., Any]]) -> None:
        super().__init__()
        self.builders = builders

    def long_into(self, target: str, depth: int) -> None:
        """`target` = the long at `pos`, inline for the one-byte case (lengths, small values)."""
        self.line(depth, "b = data[pos]")
        self.line(depth, "if b < 0x80:")
        self.line(depth + 1, f"{target} = (b >> 1) ^ -(b & 1)")
        self.line(depth + 1, "pos += 1")
        self.line(depth, "else:")
        self.line(depth + 1, f"{target}, pos = read_long(data, pos)")

    def value(self, schema: Any, target: str, depth: int, namespace: str) -> None:
        if isinstance(schema, str):
            self.primitive_or_named(schema, target, depth, namespace)
        elif isinstance(schema, list):
            self.union(schema, target, depth, namespace)
        elif isinstance(schema, dict):
            self.complex(schema, target, depth, namespace)
        else:
            raise UnsupportedSchema(f"schema {schema!r}")

    def primitive_or_named(self, name: str, target: str, depth: int, namespace: str) -> None:
        if name == "null":
            self.line(depth, f"{target} = None")
        elif name == "boolean":
            self.line(depth, f"{target} = data[pos] != 0")
            self.line(depth, "pos += 1")
        elif name in ("int", "long"):
            self.long_into(target, depth)
        elif name in ("string", "bytes"):
            size = self.fresh()
            self.long_into(size, depth)
            self.line(depth, f"if {size} < 0:")
            self.line(depth + 1, f"raise ValueError('negative length ' + str({size}))")
            self.line(depth, f"end = pos + {size}")
            self.line(depth, "if end > size_of_data:")
            self.line(depth + 1, "raise EOFError('the body ends inside a string')")
            if name == "string":
                self.line(depth, f"{target} = str(data[pos:end], 'utf-8')")
            else:
                self.line(depth, f"{target} = bytes(data[pos:end])")
            self.line(depth, "pos = end")
        else:
            self.complex(self.resolve(name, namespace), target, depth, namespace)

    def union(self, branches: list[Any], target: str, depth: int, namespace: str) -> None:
        null_index, other = self.null_union(branches)
        index = self.fresh()
        self.long_into(index, depth)
        self.line(depth, f"if {index} == {null_index}:")
        self.line(depth + 1, f"{target} = None")
        self.line(depth, f"elif {index} == {1 - null_index}:")
        self.value(other, target, depth + 1, namespace)
        self.line(depth, "else:")
        self.line(depth + 1, f"raise ValueError('union index ' + str({index}))")

    def blocks(self, count: str, depth: int) -> None:
        """Opens the loop over an array's or a map's blocks; a negative count is followed by
        the block's size in bytes (writers may send it, readers may skip with it)."""
        self.line(depth, "while True:")
        self.long_into(count, depth + 1)
        self.line(depth + 1, f"if {count} == 0:")
        self.line(depth + 2, "break")
        self.line(depth + 1, f"if {count} < 0:")
        self.line(depth + 2, f"{count} = -{count}")
        self.line(depth + 2, "_, pos = read_long(data, pos)")
        self.line(depth + 1, f"if {count} > size_of_data - pos:")  # each item is >= 1 byte
        self.line(depth + 2, "raise EOFError('a block longer than the body')")

    def complex(self, schema: dict[str, Any], target: str, depth: int, namespace: str) -> None:
        kind = schema["type"]
        full = ""
        if kind in ("record", "enum"):
            full, namespace = self.declare(schema, namespace)
        if kind == "record" and full in self.builders:
            fields = []
            for field in schema["fields"]:
                fields.append(self.fresh())
                self.value(field["type"], fields[-1], depth, namespace)
            builder = self.constant(self.builders[full])
            self.line(depth, f"{target} = {builder}({', '.join(fields)})")
        elif kind == "record":
            record = self.fresh()
            self.line(depth, f"{record} = {{}}")
            for field in schema["fields"]:
                held = self.fresh()
                self.value(field["type"], held, depth, namespace)
                self.line(depth, f"{record}[{field['name']!r}] = {held}")
            self.line(depth, f"{target} = {record}")
        elif kind == "enum":
            table, index = self.constant(tuple(schema["symbols"])), self.fresh()
            self.long_into(index, depth)
            self.line(depth, f"if not 0 <= {index} < {len(schema['symbols'])}:")
            self.line(depth + 1, f"raise ValueError('enum index ' + str({index}))")
            self.line(depth, f"{target} = {table}[{index}]")
        elif kind == "array":
            items, count, item = self.fresh(), self.fresh(), self.fresh()
            self.line(depth, f"{items} = []")
            self.blocks(count, depth)
            self.line(depth + 1, f"for _ in range({count}):")
            self.value(schema["items"], item, depth + 2, namespace)
            self.line(depth + 2, f"{items}.append({item})")
            self.line(depth, f"{target} = {items}")
        elif kind == "map":
            entries, count, key, item = self.fresh(), self.fresh(), self.fresh(), self.fresh()
            self.line(depth, f"{entries} = {{}}")
            self.blocks(count, depth)
            self.line(depth + 1, f"for _ in range({count}):")
            self.primitive_or_named("string", key, depth + 2, namespace)
            self.value(schema["values"], item, depth + 2, namespace)
            self.line(depth + 2, f"{entries}[{key}] = {item}")
            self.line(depth, f"{target} = {entries}")
        elif self.primitive_of(schema) is not None:
            self.primitive_or_named(kind, target, depth, namespace)
        else:
            raise UnsupportedSchema(f"type {kind!r}")


def compile_reader(schema: Any, builders: Mapping[str, Callable[..., Any]] | None = None) -> Reader:
    """A function `read(data, pos)` reading one record of `schema` from `data` at `pos`.

    A record whose full name is in `builders` is read as `builders[name](*fields)`, its fields
    positional in the schema's order (nested records built first), instead of as a dict:
    domain values come out with no dict in between (schemas/builders.py).
    """
    compiler = _Compiler(builders or {})
    compiler.line(0, "def read_body(data, pos):")
    compiler.line(1, "size_of_data = len(data)")
    compiler.value(schema, "result", 1, "")
    compiler.line(1, "return result, pos")
    scope: dict[str, Any] = {"read_long": read_long, **compiler.constants}
    exec(compile("\n".join(compiler.lines), "<avro reader>", "exec"), scope)
    body: Callable[[bytes, int], tuple[Any, int]] = scope["read_body"]

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        try:
            return body(data, pos)
        except IndexError as error:  # only `data[pos]` past the end raises it
            raise EOFError("the body ends inside a value") from error

    return read
