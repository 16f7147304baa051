"""Frame headers: detection from the first bytes, and the exact bytes each framing writes."""

import pytest

from schemas.exceptions import TruncatedMessage, UnknownFramingError
from schemas.framing import (
    FrameHeader,
    Framing,
    confluent_header,
    read_header,
    single_object_header,
)


def test_single_object_header_is_marker_then_little_endian_fingerprint() -> None:
    header = single_object_header(0x0102030405060708)
    assert header == bytes.fromhex("c3010807060504030201")
    assert read_header(header + b"body") == FrameHeader(
        Framing.SINGLE_OBJECT, 0x0102030405060708, 10
    )


def test_confluent_header_is_magic_zero_then_big_endian_id() -> None:
    header = confluent_header(0x01020304)
    assert header == bytes.fromhex("0001020304")
    assert read_header(header + b"body") == FrameHeader(Framing.CONFLUENT, 0x01020304, 5)


def test_a_header_alone_is_a_valid_frame_with_an_empty_body() -> None:
    assert read_header(confluent_header(7)).body_offset == 5
    assert read_header(single_object_header(7)).body_offset == 10


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\xc3", id="single-object marker cut"),
        pytest.param(b"\xc3\x01\x8a\x8f\x25", id="single-object fingerprint cut"),
        pytest.param(b"\x00", id="confluent magic alone"),
        pytest.param(b"\x00\x00\x00\x01", id="confluent id cut"),
    ],
)
def test_data_ending_inside_a_header_is_truncated(data: bytes) -> None:
    with pytest.raises(TruncatedMessage):
        read_header(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xc3\x02" + bytes(8), id="single-object version 2"),
        pytest.param(b"\x01" + bytes(16), id="confluent GUID magic"),
        pytest.param(b'{"json": true}', id="JSON"),
        pytest.param(b"\x02\x04ab", id="bare Avro body"),
        pytest.param(b"Obj\x01", id="Avro container file"),
    ],
)
def test_unknown_first_bytes_are_an_unknown_framing(data: bytes) -> None:
    with pytest.raises(UnknownFramingError):
        read_header(data)
