"""The disk store keeps the memory store's rules: compared with it over random batches,
restores, commits, aborts and reopenings, on a real RocksDB in a temporary directory."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ledger.model import AccountState, Balance, Lot
from processors.core.diskstore import DiskPartitionStore, StoreFormatError
from processors.core.store import PartitionStore

KEYS = [f"acme:m{n}".encode() for n in range(40)]


def state(key: bytes, sequence: int, expires_at_ms: int | None) -> AccountState:
    lots: dict[str, tuple[Lot, ...]] = {
        "points": (Lot(f"{sequence}", "points", sequence, expires_at_ms, sequence),)
    }
    return AccountState(
        "acme",
        key.decode().split(":")[1],
        sequence=sequence,
        balances={"points": Balance("points", sequence, 0)},
        lots=lots,
    )


def test_random_batches_commits_aborts_and_reopens_match_the_memory_store(
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    path = tmp_path / "p3"
    disk = DiskPartitionStore(3, path, cache_accounts_max=8)
    memory = PartitionStore(3)
    now = 1_000
    for turn in range(400):
        now += rng.randrange(0, 50)
        if rng.random() < 0.2:  # a restore from the changelog's tail, sealed on its own
            for _ in range(rng.randrange(1, 6)):
                key = rng.choice(KEYS)
                loaded = None if rng.random() < 0.2 else state(key, turn, now + 100)
                disk.load(key, loaded)
                memory.load(key, loaded)
            disk.seal({"p.state": turn})
            memory.seal()
            for key in KEYS:  # cached accounts included: a restore must not leave them stale
                assert disk.peek(key) == memory.get(key), (turn, key)
                assert disk.get(key) == memory.get(key), (turn, key)
            continue
        for _ in range(rng.randrange(0, 6)):
            key = rng.choice(KEYS)
            expiry = rng.choice([None, now + rng.randrange(-20, 200)])
            new = state(key, turn, expiry)
            disk.put(key, new)
            memory.put(key, new)
        if rng.random() < 0.3:
            key = rng.choice(KEYS)
            disk.retry_timers(key, now + 30)
            memory.retry_timers(key, now + 30)
        due = sorted(disk.pop_due(now))
        assert due == sorted(memory.pop_due(now)), turn
        for key in due:  # the timer fires, as the batch applier does: the lot expires
            fired = state(key, turn, None)
            disk.put(key, fired)
            memory.put(key, fired)
        assert disk.pop_due(now) == memory.pop_due(now) == []  # each timer comes due once
        assert dict(disk.touched()) == dict(memory.touched())
        if rng.random() < 0.25:
            disk.rollback()
            memory.rollback()
        else:
            disk.seal({"p.state": turn})
            memory.seal()
        if rng.random() < 0.05:
            disk.close()
            disk = DiskPartitionStore(3, path, cache_accounts_max=8)
        assert len(disk) == len(memory)
        for key in KEYS:
            assert disk.get(key) == memory.get(key)
    disk.close()


def test_an_aborted_batch_never_reaches_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "p0"
    store = DiskPartitionStore(0, path)
    store.put(KEYS[0], state(KEYS[0], 1, None))
    store.seal({"p.state": 5})
    store.put(KEYS[0], state(KEYS[0], 2, 10))
    store.put(KEYS[1], state(KEYS[1], 2, None))
    store.rollback()
    store.close()
    reopened = DiskPartitionStore(0, path)
    assert reopened.get(KEYS[0]) == state(KEYS[0], 1, None)
    assert reopened.get(KEYS[1]) is None
    assert reopened.pop_due(1_000) == []
    assert reopened.checkpoint() == {"p.state": 5}
    assert len(reopened) == 1


def test_the_checkpoint_is_written_with_the_states_it_covers(tmp_path: Path) -> None:
    store = DiskPartitionStore(0, tmp_path / "p0")
    assert store.checkpoint() == {}
    store.put(KEYS[0], state(KEYS[0], 1, None))
    store.seal({"p.state": 10, "p.state-receipts": 4})
    store.seal({"p.state": 11})
    assert store.checkpoint() == {"p.state": 11, "p.state-receipts": 4}


def test_a_restore_can_delete_an_account(tmp_path: Path) -> None:
    store = DiskPartitionStore(0, tmp_path / "p0")
    store.load(KEYS[0], state(KEYS[0], 1, 50))
    store.seal()
    store.load(KEYS[0], None)
    store.seal()
    assert store.get(KEYS[0]) is None
    assert len(store) == 0
    assert store.pop_due(100) == []


def test_a_store_in_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p0"
    DiskPartitionStore(0, path).close()
    from rocksdict import Options, Rdict

    options = Options(raw_mode=True)
    db = Rdict(str(path), options)
    db[b"m:format"] = b"something-else"
    db.close()
    with pytest.raises(StoreFormatError):
        DiskPartitionStore(0, path)


def test_a_state_stored_before_regions_reads_as_a_home_account_of_epoch_0(
    tmp_path: Path,
) -> None:
    # Why FORMAT did not change with regions: states are MessagePack maps, and the fields
    # regions added (epoch, moved_to) take their defaults when a stored map lacks them.
    import msgspec
    from rocksdict import Options, Rdict

    path = tmp_path / "p0"
    store = DiskPartitionStore(0, path)
    store.put(KEYS[0], state(KEYS[0], 3, None))
    store.seal()
    store.close()
    db = Rdict(str(path), Options(raw_mode=True))
    (account_key,) = [
        k
        for k in db.keys()  # noqa: SIM118 - an Rdict is not iterable
        if isinstance(k, bytes) and k.startswith(b"a") and k.endswith(KEYS[0])
    ]
    stored = msgspec.msgpack.decode(db[account_key] or b"")
    assert {"epoch", "moved_to"} <= set(stored)
    del stored["epoch"], stored["moved_to"]
    db[account_key] = msgspec.msgpack.encode(stored)
    db.close()

    reopened = DiskPartitionStore(0, path)

    assert reopened.get(KEYS[0]) == state(KEYS[0], 3, None)
    reopened_state = reopened.get(KEYS[0])
    assert reopened_state is not None
    assert (reopened_state.epoch, reopened_state.moved_to) == (0, "")
