"""The one SCAN helper every Redis reader uses (never `KEYS`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from backends.redis.conn import Connection
from backends.redis.values import as_bytes, glob_escape, key_text

SCAN_COUNT = 500
MGET_CHUNK = 500
Row = tuple[str, bytes | None, str]  # name, raw value (None: not a string), Redis type when not a string


async def scan_batches(
    conn: Connection, pattern: str, doing: str, *, count: int = SCAN_COUNT
) -> AsyncIterator[list[bytes]]:
    """Yield SCAN batches (lists of keys) matching `pattern`, giving the event loop a turn between them.

    SCAN may return a key twice; callers that care deduplicate.
    """
    cursor = 0
    while True:
        async with conn.io(doing):
            cursor, keys = await conn.client.scan(cursor, match=pattern, count=count)
        if keys:
            yield [k if isinstance(k, bytes) else k.encode() for k in keys]
        await asyncio.sleep(0)
        if cursor == 0:
            return


async def scan_values(conn: Connection, prefix: str, doing: str) -> list[Row]:
    """(name, raw value, Redis type when not a string) for every `<prefix>*` key, sorted by name.

    Keys of another type than string (a hash, a list...) come back with no value
    and their type, so a listing can name them instead of skipping them.
    """
    found: set[bytes] = set()
    async for keys in scan_batches(conn, glob_escape(prefix) + "*", doing):
        found.update(keys)
    keys = sorted(found)
    async with conn.io(doing):
        out: list[Row] = []
        for i in range(0, len(keys), MGET_CHUNK):
            chunk = keys[i : i + MGET_CHUNK]
            values = [as_bytes(v) for v in await conn.client.mget(chunk)]  # nil for a key of another type
            out += [(key_text(key)[len(prefix) :], raw, "") for key, raw in zip(chunk, values, strict=False)]
        missing = [i for i, row in enumerate(out) if row[1] is None]
        if missing:  # nil: another type, or deleted meanwhile
            pipe = conn.client.pipeline(transaction=False)
            for i in missing:
                pipe.type(keys[i])
            types = await pipe.execute()
            for i, t in zip(missing, types, strict=False):
                out[i] = (out[i][0], None, key_text(t))
    return [row for row in out if row[2] != "none"]
