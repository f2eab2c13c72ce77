"""A real redis-server full of malformed values: the store lists every key, raises nothing, rewrites no byte.

A few thousand values (depth, size, encodings, types, names) are written under
`feature:*` and `experiment:*`, the way any client with Redis access could,
next to some valid ones and some keys of other Redis types. Then the store's
listings run. `SHIFTROOM_FUZZ_REDIS_VALUES` sets the count (`make fuzz` raises it).
"""

from __future__ import annotations

import random

import pytest

from backends.redis import RedisStore  # the one line that names the Redis backend
from tests.fuzz_strategies import REDIS_VALUES, random_malformed, random_text
from tests.servers.redis import RedisServer

SEED = 20260101


@pytest.mark.parametrize(
    "raw_key_bytes",
    [False, True],
    ids=["utf8-keys", "non-utf8-keys"],
)
async def test_listing_survives_every_malformed_value_and_rewrites_nothing(
    redis_server: RedisServer,
    raw_key_bytes: bool,
) -> None:
    rng = random.Random(SEED)
    client = redis_server.client()
    written: dict[bytes, bytes] = {}
    pipe = client.pipeline(transaction=False)
    for i in range(REDIS_VALUES):
        name, value = random_text(rng, rng.randint(0, 12)), random_malformed(rng)
        prefix = "feature:" if i % 3 else "experiment:"
        key = (prefix + f"{i}-" + name).encode("utf-8", "surrogatepass" if raw_key_bytes else "replace")
        if raw_key_bytes and rng.random() < 0.02:
            key = prefix.encode() + b"\xff\xfe" + str(i).encode()  # a key that is not UTF-8
        written[key] = value
        pipe.set(key, value)
    pipe.set(b"feature:valid", b'{"enabled":true,"percentage":25}')
    written[b"feature:valid"] = b'{"enabled":true,"percentage":25}'
    pipe.hset(b"feature:a-hash", mapping={b"enabled": b"true"})
    pipe.rpush(b"experiment:a-list", b"x")
    pipe.execute()

    store = RedisStore(redis_server.url)
    try:
        flags = await store.list_flags()
        experiments = await store.list_experiments()
    finally:
        await store.aclose()

    listed_flags = {f.name for f in flags}
    listed_experiments = {e.id for e in experiments}
    expected_flags = {_name(k, b"feature:") for k in written if k.startswith(b"feature:")} | {"a-hash"}
    expected_experiments = {_name(k, b"experiment:") for k in written if k.startswith(b"experiment:")} | {"a-list"}
    assert expected_flags <= listed_flags, sorted(expected_flags - listed_flags)[:5]
    assert expected_experiments <= listed_experiments, sorted(expected_experiments - listed_experiments)[:5]
    by_name = {f.name: f for f in flags}
    assert by_name["valid"].valid and by_name["valid"].percentage == 25
    assert not by_name["a-hash"].valid
    assert all(f.error.startswith("Flag") for f in flags if not f.valid)
    # no byte of any value was rewritten by listing it
    stored = client.mget(list(written))
    changed = [k for k, now in zip(written, stored, strict=True) if now != written[k]]
    assert not changed, changed[:3]


def _name(key: bytes, prefix: bytes) -> str:
    return key[len(prefix) :].decode("utf-8", "surrogateescape")  # as the store reads key names
