"""Avro schema resolution, as a checker: can data written with one schema be read with another?

Follows the "Schema Resolution" section of the Avro specification, the rules that decide
whether a contract change breaks producers or consumers:

- primitives must be equal or promotable (int -> long/float/double, long -> float/double,
  float -> double, string <-> bytes); logical types are read by their underlying type;
- records, enums and fixed must keep their (unqualified) name, or the reader lists the writer's
  name among its aliases;
- a reader field absent from the writer needs a default; writer fields the reader dropped are
  skipped;
- a writer enum symbol the reader lacks needs a reader enum default;
- fixed sizes must be equal; arrays and maps resolve item by item;
- every branch of a writer union must be readable: by the first matching branch of a reader
  union (an exact type before a promotion), or by the reader itself when it is no union.

Checking both directions gives full compatibility: `check_backward_compatible(new, old)` says
a new consumer reads old data, `check_backward_compatible(old, new)` that an old consumer reads
new data.
"""

from typing import Any

from fastavro import parse_schema

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})
_COMPLEX = _NAMED | {"array", "map"}
_PROMOTIONS = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


def check_backward_compatible(reader_schema: Any, writer_schema: Any) -> list[str]:
    """Why data written with `writer_schema` cannot be read with `reader_schema`.

    Both schemas are Avro JSON (as loaded from an .avsc file) or fastavro-parsed. Returns one
    line per problem, prefixed with the path where it sits; an empty list means compatible.
    """
    reader = parse_schema(reader_schema)
    writer = parse_schema(writer_schema)
    resolution = _Resolution(_named_types(reader), _named_types(writer))
    resolution.check(reader, writer, _short_name(_full_name(writer)) or "<root>")
    return resolution.problems


class _Resolution:
    """Walks a reader and a writer schema side by side and collects what cannot resolve."""

    def __init__(self, reader_types: dict[str, Any], writer_types: dict[str, Any]) -> None:
        self._reader_types = reader_types
        self._writer_types = writer_types
        # Recursive types refer to themselves: a pair of records is checked once.
        self._records_seen: set[tuple[str, str]] = set()
        self.problems: list[str] = []

    def check(self, reader: Any, writer: Any, path: str) -> None:
        reader = _dereference(reader, self._reader_types)
        writer = _dereference(writer, self._writer_types)
        if isinstance(writer, list):
            for branch in writer:
                branch = _dereference(branch, self._writer_types)
                self.check(reader, branch, f"{path}<{_describe(branch)}>")
            return
        if isinstance(reader, list):
            match = self._matching_branch(reader, writer)
            if match is None:
                self.problems.append(
                    f"{path}: writer type {_describe(writer)} matches no branch of the reader "
                    f"union [{', '.join(_describe(self._deref_reader(b)) for b in reader)}]"
                )
                return
            self.check(match, writer, path)
            return
        reader_type, writer_type = _type_of(reader), _type_of(writer)
        if reader_type != writer_type:
            if reader_type not in _PROMOTIONS.get(writer_type, frozenset()):
                self.problems.append(
                    f"{path}: type changed from {_describe(writer)} to {_describe(reader)}, "
                    "which is no Avro promotion"
                )
            return
        if reader_type in _NAMED and not _names_match(reader, writer):
            self.problems.append(
                f"{path}: {reader_type} renamed from {_full_name(writer)} to "
                f"{_full_name(reader)} without an alias"
            )
            return
        if reader_type in ("record", "error"):
            self._check_record(reader, writer, path)
        elif reader_type == "enum":
            self._check_enum(reader, writer, path)
        elif reader_type == "fixed" and reader["size"] != writer["size"]:
            self.problems.append(
                f"{path}: fixed size changed from {writer['size']} to {reader['size']}"
            )
        elif reader_type == "array":
            self.check(reader["items"], writer["items"], f"{path}[]")
        elif reader_type == "map":
            self.check(reader["values"], writer["values"], f"{path}{{}}")

    def _check_record(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        pair = (_full_name(reader), _full_name(writer))
        if pair in self._records_seen:
            return
        self._records_seen.add(pair)
        writer_fields = {field["name"]: field for field in writer["fields"]}
        for reader_field in reader["fields"]:
            names = [reader_field["name"], *reader_field.get("aliases", ())]
            writer_field = next((writer_fields[n] for n in names if n in writer_fields), None)
            field_path = f"{path}.{reader_field['name']}"
            if writer_field is None:
                if "default" not in reader_field:
                    self.problems.append(
                        f"{field_path}: field missing from the writer and without a default "
                        "in the reader"
                    )
                continue
            self.check(reader_field["type"], writer_field["type"], field_path)

    def _check_enum(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        unknown = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if unknown and "default" not in reader:
            self.problems.append(
                f"{path}: writer enum symbols {unknown} are missing from the reader, "
                "which has no enum default"
            )

    def _matching_branch(self, reader_union: list[Any], writer: Any) -> Any:
        branches = [self._deref_reader(branch) for branch in reader_union]
        writer_type = _type_of(writer)
        for branch in branches:
            if _type_of(branch) == writer_type and (
                writer_type not in _NAMED or _names_match(branch, writer)
            ):
                return branch
        promotions = _PROMOTIONS.get(writer_type, frozenset())
        return next((branch for branch in branches if _type_of(branch) in promotions), None)

    def _deref_reader(self, schema: Any) -> Any:
        return _dereference(schema, self._reader_types)


def _named_types(schema: Any) -> dict[str, Any]:
    """Full name -> definition of every record, enum and fixed declared in a parsed schema."""
    found: dict[str, Any] = {}
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            node_type = node.get("type")
            if node_type in _NAMED and "name" in node:
                found[node["name"]] = node
            if isinstance(node_type, list | dict):
                pending.append(node_type)
            pending.extend(field["type"] for field in node.get("fields", ()))
            pending.extend(node[key] for key in ("items", "values") if key in node)
    return found


def _dereference(schema: Any, named_types: dict[str, Any]) -> Any:
    """Replace a reference by name, or a {"type": <schema>} wrapper, with the schema itself."""
    while True:
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            schema = named_types.get(schema, schema)
            if isinstance(schema, str):
                return schema
        elif isinstance(schema, dict) and not _is_type_keyword(schema.get("type")):
            schema = schema.get("type")
        else:
            return schema


def _is_type_keyword(value: Any) -> bool:
    return isinstance(value, str) and (value in _PRIMITIVES or value in _COMPLEX)


def _type_of(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    return str(schema["type"])


def _full_name(schema: Any) -> str:
    return str(schema.get("name", "")) if isinstance(schema, dict) else ""


def _short_name(full_name: str) -> str:
    return full_name.rsplit(".", 1)[-1]


def _names_match(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    writer_name = _short_name(_full_name(writer))
    reader_names = {_short_name(_full_name(reader))}
    reader_names.update(_short_name(alias) for alias in reader.get("aliases", ()))
    return writer_name in reader_names


def _describe(schema: Any) -> str:
    schema_type = _type_of(schema)
    if isinstance(schema, dict) and schema_type in _NAMED:
        return f"{schema_type} {_short_name(_full_name(schema))}"
    if isinstance(schema, dict) and "logicalType" in schema:
        return f"{schema_type} ({schema['logicalType']})"
    return schema_type
