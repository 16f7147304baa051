"""AvroCodec: both framings round-trip, old writers resolve, every failure is a typed error."""

from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

from schemas.catalogue import SchemaCatalogue
from schemas.codec import AvroCodec, DecodedMessage
from schemas.exceptions import (
    MalformedBodyError,
    SchemaMismatchError,
    TruncatedMessage,
    UnencodableRecordError,
    UnknownFingerprintError,
    UnknownFramingError,
    UnknownSchemaIdError,
    UnknownSchemaNameError,
)
from schemas.framing import Framing, confluent_header, single_object_header
from schemas.registry import ConfluentSchemaRegistry
from tests.unit.schemas.conftest import (
    FIXTURES_DIRECTORY,
    LEDGER_EVENT,
    PING,
    SAMPLE,
    ledger_event_record,
    load_avsc,
    sample_record,
    sample_v1_record,
)

TOPIC = "rewards.test"


def _v1_body(record: dict[str, Any]) -> bytes:
    buffer = BytesIO()
    v1 = parse_schema(load_avsc(FIXTURES_DIRECTORY / "released" / "v1" / "sample.avsc"))
    schemaless_writer(buffer, v1, record)
    return buffer.getvalue()


def test_single_object_round_trip(fixture_codec: AvroCodec) -> None:
    data = fixture_codec.encode(sample_record(), SAMPLE)

    decoded = fixture_codec.decode(data)

    current = fixture_codec.catalogue.current(SAMPLE)
    assert data[:10] == single_object_header(current.fingerprint)
    assert decoded == DecodedMessage(
        SAMPLE, sample_record(), Framing.SINGLE_OBJECT, current.fingerprint, None
    )


def test_confluent_round_trip_registers_under_the_topic_value_subject(
    fixture_registry_codec: AvroCodec, registry_client: Any
) -> None:
    data = fixture_registry_codec.encode(sample_record(), SAMPLE, topic=TOPIC)

    decoded = fixture_registry_codec.decode(data)

    registered = registry_client.get_latest_version(f"{TOPIC}-value")
    assert data[:5] == confluent_header(registered.schema_id)
    assert decoded.record == sample_record()
    assert decoded.framing is Framing.CONFLUENT
    assert decoded.writer_schema_id == registered.schema_id
    assert (
        decoded.writer_fingerprint == fixture_registry_codec.catalogue.current(SAMPLE).fingerprint
    )


def test_a_registry_makes_confluent_the_default_but_both_framings_decode(
    fixture_registry_codec: AvroCodec,
) -> None:
    assert fixture_registry_codec.default_framing is Framing.CONFLUENT
    single_object = fixture_registry_codec.encode(
        sample_record(), SAMPLE, framing=Framing.SINGLE_OBJECT
    )
    confluent = fixture_registry_codec.encode(sample_record(), SAMPLE, topic=TOPIC)

    assert fixture_registry_codec.decode(single_object).framing is Framing.SINGLE_OBJECT
    assert fixture_registry_codec.decode(confluent).framing is Framing.CONFLUENT


def test_registration_happens_once_per_subject(
    fixture_registry_codec: AvroCodec, registry_client: Any
) -> None:
    first = fixture_registry_codec.encode(sample_record(), SAMPLE, topic=TOPIC)
    second = fixture_registry_codec.encode(sample_record(), SAMPLE, topic=TOPIC)
    other_topic = fixture_registry_codec.encode(sample_record(), SAMPLE, topic="rewards.other")

    assert first[:5] == second[:5]
    assert registry_client.get_subjects() == [f"{TOPIC}-value", "rewards.other-value"]
    assert other_topic[5:] == first[5:]


def test_a_released_v1_message_decodes_as_the_current_schema(fixture_codec: AvroCodec) -> None:
    v1 = next(w for w in fixture_codec.catalogue.writers if w.release == "v1")
    data = single_object_header(v1.fingerprint) + _v1_body(sample_v1_record())

    decoded = fixture_codec.decode(data)

    # Resolution: int widened to long, legacy_code skipped, channel filled from its default.
    expected = {**sample_v1_record(), "channel": "web"}
    del expected["legacy_code"]
    assert decoded.record == expected
    assert decoded.writer_fingerprint == v1.fingerprint


def test_a_registry_writer_older_than_our_schema_resolves(
    fixture_registry_codec: AvroCodec, registry_client: Any
) -> None:
    v1_text = (FIXTURES_DIRECTORY / "released" / "v1" / "sample.avsc").read_text()
    v1_id = ConfluentSchemaRegistry(registry_client).register(f"{TOPIC}-value", v1_text)

    decoded = fixture_registry_codec.decode(confluent_header(v1_id) + _v1_body(sample_v1_record()))

    assert decoded.record["channel"] == "web"
    assert decoded.writer_schema_id == v1_id


def test_contract_schemas_round_trip(contract_catalogue: SchemaCatalogue) -> None:
    codec = AvroCodec(contract_catalogue)
    event = ledger_event_record()

    assert codec.decode(codec.encode(event, LEDGER_EVENT), LEDGER_EVENT).record == event


def test_the_default_catalogue_is_the_package_contract() -> None:
    assert set(AvroCodec().catalogue.names) == {
        "rewards.ledger.TransactionRequest",
        "rewards.ledger.LedgerEvent",
        "rewards.ledger.AccountState",
        "rewards.ledger.StateReceipt",
        "rewards.ledger.StateReversible",
    }


# --- decode errors -------------------------------------------------------------------------


def test_an_unexpected_record_is_a_schema_mismatch(fixture_codec: AvroCodec) -> None:
    data = fixture_codec.encode({"sequence": 1}, PING)

    with pytest.raises(SchemaMismatchError, match=r"expected rewards\.fixture\.Sample"):
        fixture_codec.decode(data, expected_schema=SAMPLE)


def test_an_unknown_fingerprint(fixture_codec: AvroCodec) -> None:
    with pytest.raises(UnknownFingerprintError, match="00000000deadbeef"):
        fixture_codec.decode(single_object_header(0xDEADBEEF) + b"\x00")


def test_an_unknown_schema_id(fixture_registry_codec: AvroCodec) -> None:
    with pytest.raises(UnknownSchemaIdError, match="999"):
        fixture_registry_codec.decode(confluent_header(999) + b"\x00")


def test_a_confluent_frame_without_a_registry_is_an_unknown_schema_id(
    fixture_codec: AvroCodec,
) -> None:
    with pytest.raises(UnknownSchemaIdError, match="no schema registry"):
        fixture_codec.decode(confluent_header(1) + b"\x00")


def test_a_registry_schema_that_is_not_ours_is_a_schema_mismatch(
    fixture_registry_codec: AvroCodec, registry_client: Any
) -> None:
    foreign = '{"type": "record", "name": "Foreign", "fields": []}'
    schema_id = ConfluentSchemaRegistry(registry_client).register("elsewhere-value", foreign)

    with pytest.raises(SchemaMismatchError, match="Foreign"):
        fixture_registry_codec.decode(confluent_header(schema_id))


def test_a_registry_writer_we_cannot_read_is_a_schema_mismatch(
    fixture_registry_codec: AvroCodec, registry_client: Any
) -> None:
    breaking = load_avsc(FIXTURES_DIRECTORY / "sample.avsc")
    breaking["fields"][0]["type"] = "int"  # id: string -> int
    import json

    schema_id = ConfluentSchemaRegistry(registry_client).register(
        f"{TOPIC}-value", json.dumps(breaking)
    )

    with pytest.raises(SchemaMismatchError, match=r"Sample\.id: type changed from int to string"):
        fixture_registry_codec.decode(confluent_header(schema_id) + b"\x02")


def test_unknown_framing(fixture_codec: AvroCodec) -> None:
    with pytest.raises(UnknownFramingError):
        fixture_codec.decode(b"\x7b\x22not avro")


def test_a_truncated_header(fixture_codec: AvroCodec) -> None:
    with pytest.raises(TruncatedMessage):
        fixture_codec.decode(b"\xc3\x01\x00")


def test_a_truncated_body(fixture_codec: AvroCodec) -> None:
    data = fixture_codec.encode(sample_record(), SAMPLE)

    with pytest.raises(TruncatedMessage, match="body ends"):
        fixture_codec.decode(data[:-3])


def test_trailing_bytes_after_the_body(fixture_codec: AvroCodec) -> None:
    data = fixture_codec.encode(sample_record(), SAMPLE)

    with pytest.raises(MalformedBodyError, match="1 trailing bytes"):
        fixture_codec.decode(data + b"\x00")


def test_a_body_that_breaks_the_schema_is_malformed(fixture_codec: AvroCodec) -> None:
    header = single_object_header(fixture_codec.catalogue.current(SAMPLE).fingerprint)
    bad_enum_index = b"\x02x" + b"\x02" + b"\x7e"  # id "x", amount 1, kind index 63

    with pytest.raises(MalformedBodyError, match="does not decode"):
        fixture_codec.decode(header + bad_enum_index + bytes(20))


# --- encode errors -------------------------------------------------------------------------


def test_encoding_an_unknown_schema_name(fixture_codec: AvroCodec) -> None:
    with pytest.raises(UnknownSchemaNameError, match=r"rewards\.fixture\.Nope"):
        fixture_codec.encode({}, "rewards.fixture.Nope")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"amount": 1.5}, id="float into long would be truncated"),
        pytest.param({"amount": True}, id="bool into long"),
        pytest.param({"id": None}, id="null into string"),
        pytest.param({"kind": "GIFT"}, id="unknown enum symbol"),
        pytest.param({"unexpected": 1}, id="extra field"),
        pytest.param({"amount": 2**63}, id="long overflow"),
    ],
)
def test_encoding_a_record_that_does_not_fit(
    fixture_codec: AvroCodec, change: dict[str, Any]
) -> None:
    with pytest.raises(UnencodableRecordError):
        fixture_codec.encode({**sample_record(), **change}, SAMPLE)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"id": None}, id="null into string"),
        pytest.param({"amount": "12"}, id="string into long"),
        pytest.param({"kind": "GIFT"}, id="unknown enum symbol"),
        pytest.param({"amount": 2**63}, id="long overflow"),
    ],
)
def test_without_validation_the_writer_still_rejects_what_it_cannot_write(
    fixture_catalogue: SchemaCatalogue, change: dict[str, Any]
) -> None:
    codec = AvroCodec(fixture_catalogue, validate_records=False)

    with pytest.raises(UnencodableRecordError):
        codec.encode({**sample_record(), **change}, SAMPLE)


def test_without_validation_a_float_amount_is_silently_truncated(
    fixture_catalogue: SchemaCatalogue,
) -> None:
    # Documents why validation is on by default.
    codec = AvroCodec(fixture_catalogue, validate_records=False)

    data = codec.encode({**sample_record(), "amount": 1.5}, SAMPLE)

    assert codec.decode(data).record["amount"] == 1


def test_encoding_a_record_missing_a_field_without_default(fixture_codec: AvroCodec) -> None:
    record = sample_record()
    del record["money"]

    with pytest.raises(UnencodableRecordError, match="money"):
        fixture_codec.encode(record, SAMPLE)


def test_fields_with_defaults_may_be_omitted(fixture_codec: AvroCodec) -> None:
    record = sample_record()
    del record["channel"], record["note"]

    decoded = fixture_codec.decode(fixture_codec.encode(record, SAMPLE))

    assert decoded.record["channel"] == "web"
    assert decoded.record["note"] is None


def test_confluent_framing_needs_a_registry_and_a_topic(
    fixture_codec: AvroCodec, fixture_registry_codec: AvroCodec
) -> None:
    with pytest.raises(ValueError, match="registry"):
        fixture_codec.encode(sample_record(), SAMPLE, framing=Framing.CONFLUENT, topic=TOPIC)
    with pytest.raises(ValueError, match="topic"):
        fixture_registry_codec.encode(sample_record(), SAMPLE)
