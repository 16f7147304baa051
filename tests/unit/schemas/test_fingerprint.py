"""CRC-64-AVRO fingerprints and canonical forms agree with the Avro specification's vectors.

The vectors come from the Avro project's share/test/data/schema-tests.txt, where Java prints
fingerprints as signed 64-bit integers; every Avro implementation is tested against them, so
agreeing here means a Java producer and this codec name a schema by the same 8 bytes.
"""

import json

import pytest
from fastavro.schema import to_parsing_canonical_form

from schemas.catalogue import SchemaCatalogue, crc64_avro_fingerprint
from schemas.framing import single_object_header

SPEC_FINGERPRINTS = [
    ('"null"', 7195948357588979594),
    ('"boolean"', -6970731678124411036),
    ('"int"', 8247732601305521295),
    ('"long"', -3434872931120570953),
    ('"string"', -8142146995180207161),
    ('{"name":"foo","type":"fixed","size":15}', 1756455273707447556),
    (
        '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
        7843277075252814651,
    ),
    (
        '{"name":"PigValue","type":"record","fields":'
        '[{"name":"value","type":["null","int","long","PigValue"]}]}',
        -1759257747318642341,
    ),
]

# Parsing Canonical Form rules: full names, attributes in a fixed order, doc/default/aliases
# and logicalType dropped, a named type written out once then referred to by full name.
SPEC_CANONICAL_FORMS = [
    ('{"type": "int"}', '"int"'),
    ('{"type": "long", "logicalType": "timestamp-millis"}', '"long"'),
    (
        '{"type": "record", "name": "r", "namespace": "a.b", "doc": "d", "fields": ['
        '{"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X"], "default": "X"}},'
        '{"name": "f", "type": "E", "default": "X"},'
        '{"name": "g", "type": {"type": "map", "values": {"type": "array", "items": "int"}}}]}',
        '{"name":"a.b.r","type":"record","fields":['
        '{"name":"e","type":{"name":"a.b.E","type":"enum","symbols":["X"]}},'
        '{"name":"f","type":"a.b.E"},'
        '{"name":"g","type":{"type":"map","values":{"type":"array","items":"int"}}}]}',
    ),
]


def _signed_to_unsigned(value: int) -> int:
    return value & 0xFFFF_FFFF_FFFF_FFFF


@pytest.mark.parametrize(("schema_json", "java_fingerprint"), SPEC_FINGERPRINTS)
def test_fingerprint_matches_the_avro_spec_vectors(schema_json: str, java_fingerprint: int) -> None:
    assert crc64_avro_fingerprint(json.loads(schema_json)) == _signed_to_unsigned(java_fingerprint)


@pytest.mark.parametrize(("schema_json", "canonical_form"), SPEC_CANONICAL_FORMS)
def test_canonical_form_follows_the_spec_rules(schema_json: str, canonical_form: str) -> None:
    assert to_parsing_canonical_form(json.loads(schema_json)) == canonical_form


def test_single_object_header_writes_the_fingerprint_little_endian() -> None:
    # "null" = 0x63DD24E7CC258F8A; Java writes the long's low byte first.
    header = single_object_header(_signed_to_unsigned(7195948357588979594))
    assert header == bytes.fromhex("c3018a8f25cce724dd63")


def test_contract_fingerprints_ignore_docs_but_not_structure(
    contract_catalogue: SchemaCatalogue,
) -> None:
    for writer in contract_catalogue.writers:
        schema = json.loads(writer.text)
        schema["doc"] = "a different description changes nothing on the wire"
        assert crc64_avro_fingerprint(schema) == writer.fingerprint
        schema["fields"] = schema["fields"][:-1]
        assert crc64_avro_fingerprint(schema) != writer.fingerprint
