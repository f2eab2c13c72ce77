"""Counters of experiments whose data the seed's own `ABTestManager` wrote, recounted from its event lists.

The seed writes `events:<exp>:<user>` lists and no Shiftroom counters, so such
an experiment shows zero users until its counters are rebuilt. `needs_rebuild`
tells that case apart cheaply: one `EXISTS` on the counters hash, and only when
it is missing a `SCAN` (never `KEYS`) that stops at the first event list found.
`rebuild_counters` folds every list with `Tally` and replaces the counters in
one MULTI.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis import exceptions as rx

from backends.base import Conflict
from backends.redis.conn import Connection
from backends.redis.counters import Tally, VariantResult, converters_key, counters_key
from backends.redis.scan import scan_batches
from backends.redis.values import BACKEND, glob_escape, key_text

SCAN_COUNT = 1000
Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class RebuildReport:
    keys: int  # event lists read
    events: int  # events read
    malformed: int  # events that are not JSON objects (skipped)
    skipped: int  # events without a variant (skipped)
    results: dict[str, VariantResult] = field(default_factory=dict)


class Rebuilder:
    """Counter rebuilds, owned by a `RedisStore`."""

    def __init__(self, conn: Connection, prefix: str) -> None:
        self.conn = conn
        self.prefix = prefix

    async def needs_rebuild(self, experiment_id: str, *, batch: int = SCAN_COUNT) -> bool:
        """True when `events:<exp>:*` lists exist but the experiment has no counters hash."""
        p = self.prefix
        doing = f"checking whether experiment {experiment_id}'s counters need a rebuild"
        async with self.conn.io(doing):
            if await self.conn.client.exists(p + counters_key(experiment_id)):
                return False
        async for _keys in scan_batches(
            self.conn, glob_escape(f"{p}events:{experiment_id}:") + "*", doing, count=batch
        ):
            return True
        return False

    async def rebuild_counters(
        self, experiment_id: str, progress: Progress | None = None, *, batch: int = 500
    ) -> RebuildReport:
        """Recompute the experiment's counters from its `events:<exp>:*` lists (the seed's data).

        SCAN (never KEYS) in batches of `batch`, LRANGE each list, fold with
        `Tally`, then replace the counters and converter sets in one MULTI.
        `progress(done, total)` is called after each batch (total: the keys
        counted by a first, key-only SCAN; may be sync or async). If tracking
        touches the counters while the rebuild runs, nothing is replaced and
        Conflict asks to run it again.
        """
        p = self.prefix
        pattern = glob_escape(f"{p}events:{experiment_id}:") + "*"
        doing = f"rebuilding experiment {experiment_id}'s counters"
        total = 0
        async for keys in scan_batches(self.conn, pattern, doing, count=batch):
            total += len(keys)
        ckey = p + counters_key(experiment_id)
        async with self.conn.io(doing):
            async with self.conn.client.pipeline(transaction=True) as guard:
                await guard.watch(ckey)  # tracking during the rebuild touches this hash
                tally, done = await self._fold(experiment_id, pattern, batch, doing, progress, total)
                mine = glob_escape(f"{p}shiftroom:exp:{experiment_id}:") + "*"
                old = [k async for keys in scan_batches(self.conn, mine, doing, count=batch) for k in keys]
                guard.multi()  # type: ignore[no-untyped-call]
                self._replace(guard, experiment_id, ckey, old, tally)
                try:
                    await guard.execute()
                except rx.WatchError:
                    await self.conn.client.ping()  # a dropped connection is Unavailable, not a conflict
                    raise Conflict(
                        BACKEND,
                        f"Experiment {experiment_id} was tracked while its counters were being "
                        "rebuilt; nothing was replaced, run the rebuild again.",
                    ) from None
        return RebuildReport(
            keys=done, events=tally.events, malformed=tally.malformed, skipped=tally.skipped, results=tally.results()
        )

    async def _fold(
        self, experiment_id: str, pattern: str, batch: int, doing: str, progress: Progress | None, total: int
    ) -> tuple[Tally, int]:
        tally = Tally()
        done = 0
        seen: set[bytes] = set()
        skip = len(f"{self.prefix}events:{experiment_id}:")
        async for found in scan_batches(self.conn, pattern, doing, count=batch):
            keys = [k for k in found if k not in seen]  # SCAN may return a key twice
            seen.update(keys)
            reader = self.conn.client.pipeline(transaction=False)
            for key in keys:
                reader.lrange(key, 0, -1)
            for key, events in zip(keys, await reader.execute(), strict=False):
                tally.extend(events, key_text(key)[skip:])
            done += len(keys)
            if progress is not None:
                outcome = progress(done, max(total, done))
                if inspect.isawaitable(outcome):
                    await outcome
        return tally, done

    def _replace(self, guard: Any, experiment_id: str, ckey: str, old: list[bytes], tally: Tally) -> None:
        p = self.prefix
        if old:
            guard.delete(*old)
        fields = tally.counter_fields()
        if fields:
            guard.hset(ckey, mapping=fields)
        for (v, m), users in tally.converters.items():
            members = sorted(users)
            for i in range(0, len(members), 1000):
                guard.sadd(p + converters_key(experiment_id, v, m), *members[i : i + 1000])
