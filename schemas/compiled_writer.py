"""Avro binary writers compiled from a schema into plain Python, for the core's hot path.

fastavro's writer walks the schema for every record; for the ledger's states (arrays of
records) that costs several times more than the bytes themselves. `compile_writer` turns a
schema into the source of one function that writes a record's fields in order, with no
dispatch left at run time, and `exec`s it once. It writes exactly what fastavro writes (a
property test compares both on generated records of every contract).

Only what the contracts use is supported: null, boolean, int, long, string, bytes, enum,
record, array, map, and unions of null with one other type. Anything else raises
`UnsupportedSchema` at compile time, and the caller keeps using fastavro for that schema.

A long outside the signed 64-bit range raises OverflowError, and a float where a long belongs
raises TypeError (`<<` is not defined for floats): amounts can never be written as floats.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.compiling import SourceCompiler, UnsupportedSchema

Writer = Callable[[Any, bytearray], None]
"""`write(record, out)`: a mapping, or a value with the fields as attributes."""

LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1


# The varints of recent long values. Most multi-byte longs a batch writes are the batch's clock
# (processed_at_ms, remembered_at_ms, recorded_at_ms of every record), so a hit saves the
# byte loop; the cache is emptied when full rather than kept in order.
_RECENT_LONGS: dict[int, bytes] = {}
_RECENT_LONGS_MAX = 4_096


def write_long(out: bytearray, value: int) -> None:
    if type(value) is int:  # a float equal to a cached int must still be refused below
        known = _RECENT_LONGS.get(value)
        if known is not None:
            out += known
            return
    if not LONG_MIN <= value <= LONG_MAX:
        raise OverflowError(f"{value} does not fit an Avro long")
    encoded = (value << 1) ^ (value >> 63)
    varint = bytearray()
    while encoded > 0x7F:
        varint.append((encoded & 0x7F) | 0x80)
        encoded >>= 7
    varint.append(encoded)
    if len(_RECENT_LONGS) >= _RECENT_LONGS_MAX:
        _RECENT_LONGS.clear()
    _RECENT_LONGS[value] = bytes(varint)
    out += varint


def write_int(out: bytearray, value: int) -> None:
    if not INT_MIN <= value <= INT_MAX:
        raise OverflowError(f"{value} does not fit an Avro int")
    write_long(out, value)


class _Compiler(SourceCompiler):
    def __init__(self, attributes: bool) -> None:
        super().__init__()
        self.attributes = attributes

    def value(self, schema: Any, expr: str, depth: int, namespace: str) -> None:
        if isinstance(schema, str):
            self.primitive_or_named(schema, expr, depth, namespace)
        elif isinstance(schema, list):
            self.union(schema, expr, depth, namespace)
        elif isinstance(schema, dict):
            self.complex(schema, expr, depth, namespace)
        else:
            raise UnsupportedSchema(f"schema {schema!r}")

    def primitive_or_named(self, name: str, expr: str, depth: int, namespace: str) -> None:
        if name == "null":
            return
        if name == "boolean":
            self.line(depth, f"out.append(1 if {expr} else 0)")
        elif name == "int":
            self.line(depth, f"write_int(out, {expr})")
        elif name == "long":
            # Inline for the one-byte case (small amounts, counts, sequences); `<<` still
            # refuses a float.
            held = self.fresh()
            self.line(depth, f"{held} = {expr}")
            self.line(depth, f"if -64 <= {held} < 64:")
            self.line(depth + 1, f"out.append(({held} << 1) ^ ({held} >> 63))")
            self.line(depth, "else:")
            self.line(depth + 1, f"write_long(out, {held})")
        elif name in ("string", "bytes"):
            data = self.fresh()
            encode = ".encode()" if name == "string" else ""
            self.line(depth, f"{data} = {expr}{encode}")
            self.line(depth, f"write_long(out, len({data}))")
            self.line(depth, f"out += {data}")
        else:
            self.complex(self.resolve(name, namespace), expr, depth, namespace)

    def union(self, branches: list[Any], expr: str, depth: int, namespace: str) -> None:
        null_index, other = self.null_union(branches)
        held = self.fresh()
        self.line(depth, f"{held} = {expr}")
        self.line(depth, f"if {held} is None:")
        self.line(depth + 1, f"out.append({null_index * 2})")  # zigzag of the branch index
        self.line(depth, "else:")
        self.line(depth + 1, f"out.append({(1 - null_index) * 2})")
        self.value(other, held, depth + 1, namespace)

    def complex(self, schema: dict[str, Any], expr: str, depth: int, namespace: str) -> None:
        kind = schema["type"]
        if kind in ("record", "enum"):
            _, namespace = self.declare(schema, namespace)
        if kind == "record":
            record = self.fresh()
            self.line(depth, f"{record} = {expr}")
            for field in schema["fields"]:
                name = field["name"]
                access = f"{record}.{name}" if self.attributes else f"{record}[{name!r}]"
                self.value(field["type"], access, depth, namespace)
        elif kind == "enum":
            table = self.constant({symbol: i for i, symbol in enumerate(schema["symbols"])})
            self.line(depth, f"write_long(out, {table}[{expr}])")
        elif kind == "array":
            items, item = self.fresh(), self.fresh()
            self.line(depth, f"{items} = {expr}")
            self.line(depth, f"if {items}:")
            self.line(depth + 1, f"write_long(out, len({items}))")
            self.line(depth + 1, f"for {item} in {items}:")
            self.value(schema["items"], item, depth + 2, namespace)
            self.line(depth, "out.append(0)")
        elif kind == "map":
            entries, key, item = self.fresh(), self.fresh(), self.fresh()
            self.line(depth, f"{entries} = {expr}")
            self.line(depth, f"if {entries}:")
            self.line(depth + 1, f"write_long(out, len({entries}))")
            self.line(depth + 1, f"for {key}, {item} in {entries}.items():")
            self.primitive_or_named("string", key, depth + 2, namespace)
            self.value(schema["values"], item, depth + 2, namespace)
            self.line(depth, "out.append(0)")
        elif self.primitive_of(schema) is not None:
            self.primitive_or_named(kind, expr, depth, namespace)
        else:
            raise UnsupportedSchema(f"type {kind!r}")


def compile_writer(schema: Any, attributes: bool = False) -> Writer:
    """A function `write(record, out)` appending `record`'s Avro binary encoding to `out`.

    With `attributes`, a record's fields are read as attributes rather than keys: a domain value
    whose attribute names are the schema's field names (ledger.model's events and requests) is
    written straight, without building a dict first. Its enums are StrEnums, which look up as
    their symbols; a map is a dict, an array any sized iterable.
    """
    compiler = _Compiler(attributes)
    compiler.line(0, "def write(r, out):")
    compiler.value(schema, "r", 1, "")
    compiler.line(1, "return None")
    scope: dict[str, Any] = {
        "write_long": write_long,
        "write_int": write_int,
        **compiler.constants,
    }
    exec(compile("\n".join(compiler.lines), "<avro writer>", "exec"), scope)
    writer: Writer = scope["write"]
    return writer
