"""Experiment tracking on Redis, compatible with the seed's `ABTestManager`.

`track_assignment` / `track_conversion` write exactly what the seed's manager
writes (`assignment:<exp>:<user>` for 30 days, the event JSON pushed onto
`events:<exp>:<user>` kept 90 days) and, in the same MULTI, the counters
described in `app.tracking`, so counters and events never disagree and
results are read in a few commands instead of the seed's `KEYS` + `LRANGE`
over every user. `rebuild_counters` recomputes the counters from the event
lists, for data the seed's own manager wrote.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis import exceptions as rx

from app.experiments import ASSIGNMENT_TTL_S, EVENTS_TTL_S, assignment_key, events_key, experiment_variant
from app.tracking import (
    ASSIGNED,
    CONVERSION,
    FIRST_T,
    Tally,
    VariantResult,
    conversions_field,
    converters_key,
    counters_key,
    numeric_value,
    results_from_counters,
    seed_event,
    sum_field,
    sumsq_field,
    users_field,
)
from backends.base import Conflict, Invalid
from backends.redis_conn import BACKEND, glob_escape, key_text, load_object

if TYPE_CHECKING:
    from backends.redis_store import RedisStore

ATTEMPTS = 5
Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class RebuildReport:
    keys: int  # event lists read
    events: int  # events read
    malformed: int  # events that are not JSON objects (skipped)
    skipped: int  # events without a variant (skipped)
    results: dict[str, VariantResult] = field(default_factory=dict)


class TrackingMixin:
    """Tracking methods of `RedisStore` (kept apart to keep files small)."""

    def _ekeys(self: "RedisStore", experiment_id: str, user_id: str) -> tuple[str, str, str]:
        p = self.prefix
        return p + assignment_key(experiment_id, user_id), p + events_key(experiment_id, user_id), p + counters_key(experiment_id)

    async def track_assignment(self: "RedisStore", experiment_id: str, user_id: str) -> str | None:
        """The seed's `get_experiment_variant`: the user's variant, assigning it when needed.

        An existing assignment wins whatever the experiment's status; otherwise
        only an "active" experiment assigns (None otherwise, or when it does
        not exist). A new assignment is SETEX 30 d, its "assigned" event is
        LPUSHed (EXPIRE 90 d) and `users:<variant>` incremented, in one MULTI;
        two concurrent calls for one user record one assignment.
        """
        self.writable(f"experiment {experiment_id}'s assignments")
        akey, evkey, ckey = self._ekeys(experiment_id, user_id)
        for _ in range(ATTEMPTS):
            async with self.io(f"assigning a variant of experiment {experiment_id}"):
                async with self.client.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(akey)
                        existing = await pipe.get(akey)
                        if existing:
                            return existing.decode("utf-8", "replace")
                        raw = await pipe.get(self.experiment_key(experiment_id))
                        if raw is None:
                            return None
                        config = load_object(raw)
                        if config is None:
                            raise Invalid(BACKEND, f"Experiment {experiment_id} in Redis is not a JSON object, so no variant can be assigned.")
                        try:
                            variant = experiment_variant(config, user_id)
                        except (ValueError, TypeError) as exc:
                            raise Invalid(BACKEND, f"Experiment {experiment_id} cannot assign variants: {exc}") from None
                        if variant is None:
                            return None
                        now = self.clock.now()
                        event = seed_event(experiment_id, user_id, ASSIGNED, {"variant": variant}, now)
                        pipe.multi()
                        pipe.execute_command("SETEX", akey, ASSIGNMENT_TTL_S, variant)  # as the seed
                        pipe.lpush(evkey, event)
                        pipe.expire(evkey, EVENTS_TTL_S)
                        pipe.hincrby(ckey, users_field(variant), 1)
                        pipe.hsetnx(ckey, FIRST_T, repr(now))
                        await pipe.execute()
                        return variant
                    except rx.WatchError:
                        continue
        raise Conflict(BACKEND, f"The assignment of {user_id} to experiment {experiment_id} kept changing; try again.")

    async def track_conversion(
        self: "RedisStore", experiment_id: str, user_id: str, metric: str, value: float = 1.0
    ) -> str | None:
        """The seed's `track_conversion`: assigns first when needed, then records the conversion.

        Returns the variant credited, or None when the user is in no variant
        (nothing recorded, as in the seed).
        """
        if not isinstance(metric, str) or not metric:
            raise Invalid(BACKEND, "A conversion needs a metric name.")
        number = numeric_value(value)
        if number is None:
            raise Invalid(BACKEND, f"A conversion value must be a finite number, not {value!r}.")
        variant = await self.track_assignment(experiment_id, user_id)
        if not variant:
            return None
        _, evkey, ckey = self._ekeys(experiment_id, user_id)
        p = self.prefix
        event = seed_event(experiment_id, user_id, CONVERSION,
                           {"variant": variant, "metric": metric, "value": value}, self.clock.now())
        async with self.io(f"recording a conversion in experiment {experiment_id}"):
            pipe = self.client.pipeline(transaction=True)
            pipe.lpush(evkey, event)
            pipe.expire(evkey, EVENTS_TTL_S)
            pipe.hincrby(ckey, conversions_field(variant), 1)
            pipe.hincrby(ckey, conversions_field(variant, metric), 1)
            pipe.hincrbyfloat(ckey, sum_field(variant, metric), number)
            pipe.hincrbyfloat(ckey, sumsq_field(variant, metric), number * number)
            pipe.sadd(p + converters_key(experiment_id, variant), user_id)
            pipe.sadd(p + converters_key(experiment_id, variant, metric), user_id)
            await pipe.execute()
        return variant

    # ------------------------------------------------------------ results

    async def _results(
        self: "RedisStore", ids: list[str], doing: str
    ) -> tuple[dict[str, dict[str, VariantResult]], dict[str, float]]:
        """Results of many experiments in two round trips (HGETALL each, then SCARD each set),
        and the clock time of each one's first assignment when known."""
        if not ids:
            return {}, {}
        p = self.prefix
        async with self.io(doing):
            pipe = self.client.pipeline(transaction=False)
            for eid in ids:
                pipe.hgetall(p + counters_key(eid))
            hashes = await pipe.execute()
            sets: list[tuple[str, str, str | None]] = []
            for eid, fields in zip(ids, hashes):
                for v, r in results_from_counters(fields).items():
                    sets.append((eid, v, None))
                    sets.extend((eid, v, m) for m in r.metrics)
            pipe = self.client.pipeline(transaction=False)
            for eid, v, m in sets:
                pipe.scard(p + converters_key(eid, v, m))
            sizes = await pipe.execute() if sets else []
        per: dict[str, dict[tuple[str, str | None], int]] = {}
        for (eid, v, m), n in zip(sets, sizes):
            per.setdefault(eid, {})[(v, m)] = int(n)
        firsts: dict[str, float] = {}
        for eid, fields in zip(ids, hashes):
            try:
                firsts[eid] = float(fields[FIRST_T.encode()])
            except (KeyError, ValueError):
                pass
        return {eid: results_from_counters(fields, per.get(eid, {})) for eid, fields in zip(ids, hashes)}, firsts

    async def experiment_results(self: "RedisStore", experiment_id: str) -> dict[str, VariantResult]:
        """Per-variant users (assignments), conversions, converters and per-metric totals, from the counters."""
        results, _ = await self._results([experiment_id], f"reading experiment {experiment_id}'s counters")
        return results[experiment_id]

    # ------------------------------------------------------------ rebuild

    async def _scan_keys(self: "RedisStore", pattern: str, batch: int, doing: str):  # noqa: ANN202
        """Yield SCAN batches (lists of keys), giving the event loop a turn between them."""
        cursor = 0
        while True:
            async with self.io(doing):
                cursor, keys = await self.client.scan(cursor, match=pattern, count=batch)
            if keys:
                yield keys
            await asyncio.sleep(0)
            if cursor == 0:
                return

    async def sample_user_ids(self: "RedisStore", limit: int = 10_000) -> list[str]:
        """Distinct user ids from `assignment:<exp>:<user>` keys (SCAN, never KEYS), for cohort previews."""
        prefix = f"{self.prefix}assignment:"
        seen: dict[str, None] = {}
        async for keys in self._scan_keys(f"{glob_escape(prefix)}*", 1000, "sampling assigned users"):
            for key in keys:
                text = key.decode() if isinstance(key, bytes) else key
                _, _, user = text[len(prefix):].partition(":")
                if user:
                    seen[user] = None
            if len(seen) >= limit:
                break
        return list(seen)[:limit]

    async def rebuild_counters(
        self: "RedisStore", experiment_id: str, progress: Progress | None = None, *, batch: int = 500
    ) -> RebuildReport:
        """Recompute the experiment's counters from its `events:<exp>:*` lists (the seed's data).

        SCAN (never KEYS) in batches of `batch`, LRANGE each list, fold with
        `Tally`, then replace the counters and converter sets in one MULTI.
        `progress(done, total)` is called after each batch (total: the keys
        counted by a first, key-only SCAN; may be sync or async). If tracking
        touches the counters while the rebuild runs, nothing is replaced and
        Conflict asks to run it again.
        """
        self.writable(f"experiment {experiment_id}'s counters")
        p = self.prefix
        pattern = glob_escape(f"{p}events:{experiment_id}:") + "*"
        doing = f"rebuilding experiment {experiment_id}'s counters"
        total = 0
        async for keys in self._scan_keys(pattern, batch, doing):
            total += len(keys)
        ckey = p + counters_key(experiment_id)
        tally = Tally()
        done = 0
        seen: set[bytes] = set()
        skip = len(f"{p}events:{experiment_id}:")
        async with self.io(doing):
            async with self.client.pipeline(transaction=True) as guard:
                await guard.watch(ckey)  # tracking during the rebuild touches this hash
                async for keys in self._scan_keys(pattern, batch, doing):
                    keys = [k for k in keys if k not in seen]  # SCAN may return a key twice
                    seen.update(keys)
                    reader = self.client.pipeline(transaction=False)
                    for key in keys:
                        reader.lrange(key, 0, -1)
                    for key, events in zip(keys, await reader.execute()):
                        tally.extend(events, key_text(key)[skip:])
                    done += len(keys)
                    if progress is not None:
                        outcome = progress(done, max(total, done))
                        if inspect.isawaitable(outcome):
                            await outcome
                old = [k async for batch_keys in self._scan_keys(glob_escape(f"{p}shiftroom:exp:{experiment_id}:") + "*", batch, doing) for k in batch_keys]
                guard.multi()
                if old:
                    guard.delete(*old)
                fields = tally.counter_fields()
                if fields:
                    guard.hset(ckey, mapping=fields)
                for (v, m), users in tally.converters.items():
                    members = sorted(users)
                    for i in range(0, len(members), 1000):
                        guard.sadd(p + converters_key(experiment_id, v, m), *members[i : i + 1000])
                try:
                    await guard.execute()
                except rx.WatchError:
                    await self.client.ping()  # a dropped connection is Unavailable, not a conflict
                    raise Conflict(BACKEND, f"Experiment {experiment_id} was tracked while its counters were being rebuilt; nothing was replaced, run the rebuild again.") from None
        return RebuildReport(keys=done, events=tally.events, malformed=tally.malformed, skipped=tally.skipped,
                             results=tally.results())
