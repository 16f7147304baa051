"""Which partition owns an account: the key of every record about it, and murmur2 of that key
exactly as Java's default partitioner computes it.

This is part of the Kafka contract: every producer of the ledger (the gateway, partners,
the core forwarding a misrouted record) and every reader of its topics must agree on it.
Java clients, aiokafka and librdkafka's `murmur2_random` all compute
`(murmur2(key) & 0x7fffffff) % partitions`; the core relies on it to find an account's state,
so a record that arrived elsewhere (librdkafka's default CRC32 partitioner, an explicit
partition) is forwarded to this partition instead of being applied against the wrong state.
"""

from __future__ import annotations


def account_key(program: str, account_id: str) -> bytes:
    """The record key of an account on every ledger topic: `program:account_id`."""
    return f"{program}:{account_id}".encode()


MURMUR2_SEED = 0x9747B28C
MURMUR2_M = 0x5BD1E995
MASK_32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (Utils.murmur2), as an unsigned 32-bit value."""
    length = len(data)
    h = (MURMUR2_SEED ^ length) & MASK_32
    whole = length - (length & 3)
    for i in range(0, whole, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * MURMUR2_M) & MASK_32
        k ^= k >> 24
        k = (k * MURMUR2_M) & MASK_32
        h = (h * MURMUR2_M) & MASK_32
        h ^= k
    tail = length & 3
    if tail == 3:
        h ^= data[whole + 2] << 16
    if tail >= 2:
        h ^= data[whole + 1] << 8
    if tail >= 1:
        h ^= data[whole]
        h = (h * MURMUR2_M) & MASK_32
    h ^= h >> 13
    h = (h * MURMUR2_M) & MASK_32
    h ^= h >> 15
    return h


# murmur2 of recently seen keys: the core hashes every record it reads (to check the partition
# owns it) and every leg it writes, and an account's records come again and again. Emptied when
# full, and only short keys are kept (anyone can write a 400 KB key), so it stays a few MiB.
_RECENT_HASHES: dict[bytes, int] = {}
_RECENT_HASHES_MAX = 100_000
_CACHED_KEY_BYTES_MAX = 128


def partition_for(key: bytes, partitions: int) -> int:
    hashed = _RECENT_HASHES.get(key)
    if hashed is None:
        hashed = murmur2(key) & 0x7FFFFFFF
        if len(key) <= _CACHED_KEY_BYTES_MAX:
            if len(_RECENT_HASHES) >= _RECENT_HASHES_MAX:
                _RECENT_HASHES.clear()
            _RECENT_HASHES[key] = hashed
    return hashed % partitions
