"""State of one owned partition on local disk (RocksDB), with the memory store's batch rules.

The same contract as `PartitionStore` (store.py): `get`/`put` inside a batch, `touched` for
the changelog, `seal` after a commit, `rollback` after an abort, `load` while restoring,
`pop_due`/`retry_timers` for timers. What differs is where states live:

- **Nothing reaches the disk before `seal`.** A batch's states, timer entries and the
  checkpoint wait in memory and are written by one RocksDB `WriteBatch` (atomic), so an
  aborted batch leaves the disk exactly as it was and a crash leaves either all of a
  committed batch or none of it (then the changelog's tail restores it).
- **A checkpoint** (the changelog offsets the disk reflects) is written in the same batch as
  the states, so a restarted processor replays only the changelog after it.
- **Timers are an index on disk**: `t` + due time (8 bytes, big endian) + account key, so the
  due ones are a range scan from the start. An entry whose account's earliest timer moved is
  stale; it is checked against the state when it comes due, dropped, or kept for later.
- **A bounded cache** keeps recently used states decoded; the disk holds them all. A restore
  does not fill it (it would only evict what batches use).

States are stored with msgspec's MessagePack: local, private to this processor, and tagged
with `FORMAT`; a store written in another format is not read (the caller rebuilds it from the
changelog).
"""

from __future__ import annotations

import struct
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import cast

import msgspec
from rocksdict import BlockBasedOptions, Cache, Options, Rdict, WriteBatch, WriteBufferManager

from ledger.model import AccountState
from ledger.timers import next_due_ms

FORMAT = b"ledger-state-msgpack-1"
ACCOUNT = b"a"
TIMER = b"t"
META = b"m"
FORMAT_KEY = META + b":format"
COUNT_KEY = META + b":accounts"
CHECKPOINT = META + b":checkpoint:"
CHECKPOINTED_AT = META + b":checkpointed-at"
CACHE_ACCOUNTS_MAX = 100_000
# RocksDB's own memory, shared by every store of the process: a core owns many partitions,
# and each database's default memtables (64 MiB, two of them) would add up to gigabytes.
MEMTABLES_BYTES = 64 * 2**20
BLOCK_CACHE_BYTES = 64 * 2**20
WRITE_BUFFER_BYTES = 8 * 2**20
BLOOM_BITS_PER_KEY = 10
_DUE = struct.Struct(">Q")


class StoreFormatError(Exception):
    """The store on disk was written in another format: rebuild it from the changelog."""


_shared: list[tuple[Cache, WriteBufferManager]] = []


def _options() -> Options:
    """Options of a store, with the process's one block cache and memtable budget."""
    if not _shared:
        _shared.append((Cache(BLOCK_CACHE_BYTES), WriteBufferManager(MEMTABLES_BYTES, False)))
    cache, memtables = _shared[0]
    table = BlockBasedOptions()
    table.set_block_cache(cache)
    table.set_bloom_filter(BLOOM_BITS_PER_KEY, False)  # an absent account costs no disk read
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    options.set_block_based_table_factory(table)
    options.set_write_buffer_manager(memtables)
    options.set_write_buffer_size(WRITE_BUFFER_BYTES)
    return options


def _scan(db: Rdict, start: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Keys and values from `start` on, in order (the store is in raw mode: both are bytes)."""
    for key, value in db.items(from_key=start):
        yield cast(bytes, key), cast(bytes, value)


def _timer_key(due_ms: int, key: bytes) -> bytes:
    return TIMER + _DUE.pack(max(due_ms, 0)) + key


class DiskPartitionStore:
    def __init__(
        self, partition: int, path: Path, cache_accounts_max: int = CACHE_ACCOUNTS_MAX
    ) -> None:
        self.partition = partition
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._options = _options()
        self._db = Rdict(str(path), self._options)
        self._closed = False
        stored_format = self._db.get(FORMAT_KEY)
        if stored_format is None:
            self._db[FORMAT_KEY] = FORMAT
        elif stored_format != FORMAT:
            self._db.close()
            raise StoreFormatError(f"{path} holds {stored_format!r}, not {FORMAT!r}")
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(AccountState)
        self._cache: OrderedDict[bytes, AccountState] = OrderedDict()
        self._cache_max = cache_accounts_max
        self._count = int(self._db.get(COUNT_KEY) or b"0")
        # The open batch: states put (None: deleted by a restore), their values before it,
        # timer entries added and taken.
        self._pending: dict[bytes, AccountState | None] = {}
        self._restored: set[bytes] = set()  # loaded by a restore: not worth a cache entry
        self._existed: dict[bytes, bool] = {}  # before the batch: for the account count
        self._timers_added: set[bytes] = set()
        self._timers_taken: set[bytes] = set()

    def __len__(self) -> int:
        return self._count + sum(
            (state is not None) - self._existed[key] for key, state in self._pending.items()
        )

    def close(self) -> None:
        """Release the database (and its lock, so another store can open it); idempotent."""
        if not self._closed:
            self._closed = True
            self._db.close()

    def wipe(self) -> None:
        """Forget everything, on disk too: the store is rebuilt from the changelog."""
        self._db.close()
        Rdict.destroy(str(self.path), self._options)
        self._db = Rdict(str(self.path), self._options)
        self._db[FORMAT_KEY] = FORMAT
        self._cache.clear()
        self._count = 0
        self._forget_batch()

    # --- reading --------------------------------------------------------------------------

    def get(self, key: bytes) -> AccountState | None:
        if key in self._pending:
            return self._pending[key]
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        raw = self._db.get(ACCOUNT + key)
        if raw is None:
            return None
        state = self._decoder.decode(raw)
        self._remember(key, state)
        return state

    def peek(self, key: bytes) -> AccountState | None:
        """As `get`, without filling the cache: a restore touches every account once."""
        if key in self._pending:
            return self._pending[key]
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        raw = self._db.get(ACCOUNT + key)
        return None if raw is None else self._decoder.decode(raw)

    def checkpointed_at_ms(self) -> int | None:
        """Wall-clock time of the last checkpoint, None when there is none."""
        raw = self._db.get(CHECKPOINTED_AT)
        return None if raw is None else int(raw)

    def checkpoint(self) -> dict[str, int]:
        """topic -> the next changelog offset the disk does not reflect yet."""
        found = {}
        for name, value in _scan(self._db, CHECKPOINT):
            if not name.startswith(CHECKPOINT):
                break
            found[name[len(CHECKPOINT) :].decode()] = int(value)
        return found

    # --- a batch --------------------------------------------------------------------------

    def put(self, key: bytes, state: AccountState) -> None:
        """Set state decided in the open batch."""
        if key not in self._existed:
            self._existed[key] = self.get(key) is not None
        self._pending[key] = state
        self._schedule(key, state)

    def load(self, key: bytes, state: AccountState | None) -> None:
        """Set restored state; it reaches the disk with the next `seal` (with its checkpoint)."""
        if key not in self._existed:
            # Not through get(): a restore must not decode (nor cache) what it replaces.
            self._existed[key] = (
                self._pending[key] is not None
                if key in self._pending
                else key in self._cache or self._db.get(ACCOUNT + key) is not None
            )
        self._pending[key] = state
        self._restored.add(key)
        if state is not None:
            self._schedule(key, state)

    def touched(self) -> Iterator[tuple[bytes, AccountState]]:
        """Accounts changed in the open batch, with their latest state."""
        for key, state in self._pending.items():
            if state is not None:
                yield key, state

    def seal(self, checkpoint: Mapping[str, int] | None = None) -> None:
        """Write the open batch and the checkpoint in one atomic write, then forget its undo."""
        if not (self._pending or self._timers_added or self._timers_taken or checkpoint):
            return
        batch = WriteBatch(raw_mode=True)
        count = self._count
        for key, state in self._pending.items():
            existed = self._existed[key]
            if state is None:
                batch.delete(ACCOUNT + key)
                count -= existed
                self._cache.pop(key, None)
            else:
                batch.put(ACCOUNT + key, self._encoder.encode(state))
                count += not existed
                if key in self._restored:
                    self._cache.pop(key, None)  # what it held is older than the restore
                else:
                    self._remember(key, state)
        for timer in self._timers_added - self._timers_taken:
            batch.put(timer, b"")
        for timer in self._timers_taken:
            batch.delete(timer)
        for topic, offset in (checkpoint or {}).items():
            batch.put(CHECKPOINT + topic.encode(), str(offset).encode())
        if checkpoint:
            batch.put(CHECKPOINTED_AT, str(time.time_ns() // 1_000_000).encode())
        batch.put(COUNT_KEY, str(count).encode())
        self._db.write(batch)
        self._count = count
        self._forget_batch()

    def rollback(self) -> int:
        """Forget the open batch (the disk never saw it); returns how many accounts it held."""
        restored = len(self._pending)
        self._forget_batch()
        return restored

    # --- timers ---------------------------------------------------------------------------

    def pop_due(self, now_ms: int) -> list[bytes]:
        """Keys whose earliest timer is due at `now_ms`, each once; stale entries dropped."""
        end = _timer_key(now_ms, b"\xff")
        candidates = [t for t in self._timers_added if t <= end]
        for timer, _ in _scan(self._db, TIMER):
            if timer > end or not timer.startswith(TIMER):
                break
            candidates.append(timer)
        due: list[bytes] = []
        seen: set[bytes] = set()
        for timer in sorted(candidates):
            if timer in self._timers_taken:
                continue
            self._timers_taken.add(timer)
            key = timer[len(TIMER) + _DUE.size :]
            if key in seen:
                continue
            state = self.get(key)
            state_due = None if state is None else next_due_ms(state)
            if state_due is not None and state_due <= now_ms:
                seen.add(key)
                due.append(key)
            elif state_due is not None:
                self._timers_added.add(_timer_key(state_due, key))
        return due

    def retry_timers(self, key: bytes, at_ms: int) -> None:
        """Fire the account's due timers again at `at_ms` (their decision did not apply)."""
        self._timers_added.add(_timer_key(at_ms, key))

    # --- inside ---------------------------------------------------------------------------

    def _schedule(self, key: bytes, state: AccountState) -> None:
        due = next_due_ms(state)
        if due is not None:
            self._timers_added.add(_timer_key(due, key))

    def _remember(self, key: bytes, state: AccountState) -> None:
        self._cache[key] = state
        self._cache.move_to_end(key)
        if len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)

    def _forget_batch(self) -> None:
        self._pending.clear()
        self._restored.clear()
        self._existed.clear()
        self._timers_added.clear()
        self._timers_taken.clear()
