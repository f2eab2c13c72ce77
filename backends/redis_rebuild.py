"""Does an experiment on Redis need its counters rebuilt from the seed's event lists?

The seed's own `ABTestManager` writes `events:<exp>:<user>` lists and no
Shiftroom counters, so such an experiment shows zero users until
`RedisStore.rebuild_counters` has run. `needs_rebuild` tells that case
apart cheaply: one `EXISTS` on the counters hash, and only when it is
missing a `SCAN` (never `KEYS`) that stops at the first event list found.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from app.tracking import counters_key
from backends.redis_conn import glob_escape

if TYPE_CHECKING:
    from backends.redis_store import RedisStore

SCAN_COUNT = 1000


async def needs_rebuild(store: "RedisStore", experiment_id: str, *, batch: int = SCAN_COUNT) -> bool:
    """True when `events:<exp>:*` lists exist but the experiment has no counters hash."""
    p = store.prefix
    doing = f"checking whether experiment {experiment_id}'s counters need a rebuild"
    async with store.io(doing):
        if await store.client.exists(p + counters_key(experiment_id)):
            return False
    pattern = glob_escape(f"{p}events:{experiment_id}:") + "*"
    cursor = 0
    while True:
        async with store.io(doing):
            cursor, keys = await store.client.scan(cursor, match=pattern, count=batch)
        if keys:
            return True
        if cursor == 0:
            return False
        await asyncio.sleep(0)  # a large keyspace: let the room run between batches
