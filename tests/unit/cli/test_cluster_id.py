"""The local broker's cluster id: Kafka's format, and never read as a command-line option."""

from __future__ import annotations

import base64
import uuid

import pytest

from cli.devstack.kafka import new_cluster_id


def test_cluster_ids_are_unpadded_base64_uuids() -> None:
    drawn = [new_cluster_id() for _ in range(200)]
    for cluster_id in drawn:
        raw = base64.urlsafe_b64decode(cluster_id + "==")
        assert len(cluster_id) == 22 and len(raw) == 16
        assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == cluster_id
        assert uuid.UUID(bytes=raw).version == 4
    assert len(set(drawn)) == len(drawn)


def test_an_id_starting_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first draw encodes to "-..." (0xf8 = 111110 00 -> '-' in URL-safe base64).
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(16))])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))
    assert new_cluster_id() == "AAAAAAAAAAAAAAAAAAAAAA"
