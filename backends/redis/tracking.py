"""Experiment tracking on Redis, compatible with the seed's `ABTestManager`.

`track_assignment` / `track_conversion` write exactly what the seed's manager
writes (`assignment:<exp>:<user>` for 30 days, the event JSON pushed onto
`events:<exp>:<user>` kept 90 days) and, in the same MULTI, the counters
described in `app.tracking`, so counters and events never disagree and
results are read in a few commands instead of the seed's `KEYS` + `LRANGE`
over every user. `rebuild_counters` recomputes the counters from the event
lists, for data the seed's own manager wrote (see `rebuild`).
"""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio.client import Pipeline

from app.clock import Clock
from app.experiments import ASSIGNMENT_TTL_S, EVENTS_TTL_S, assignment_key, events_key, experiment_variant
from backends.base import Conflict, Invalid
from backends.redis.conn import Connection
from backends.redis.counters import (
    ASSIGNED,
    CONVERSION,
    FIRST_T,
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
from backends.redis.scan import scan_batches
from backends.redis.values import BACKEND, as_bytes, glob_escape, key_text, load_object

ATTEMPTS = 5


class Tracker:
    """Assignments, conversions and their counters, owned by a `RedisStore`."""

    def __init__(self, conn: Connection, prefix: str, clock: Clock, experiment_key: Callable[[str], bytes]) -> None:
        self.conn = conn
        self.prefix = prefix
        self.clock = clock
        self.experiment_key = experiment_key

    def _ekeys(self, experiment_id: str, user_id: str) -> tuple[str, str, str]:
        p = self.prefix
        return (
            p + assignment_key(experiment_id, user_id),
            p + events_key(experiment_id, user_id),
            p + counters_key(experiment_id),
        )

    async def track_assignment(self, experiment_id: str, user_id: str) -> str | None:
        """The seed's `get_experiment_variant`: the user's variant, assigning it when needed.

        An existing assignment wins whatever the experiment's status; otherwise
        only an "active" experiment assigns (None otherwise, or when it does
        not exist). A new assignment is SETEX 30 d, its "assigned" event is
        LPUSHed (EXPIRE 90 d) and `users:<variant>` incremented, in one MULTI;
        two concurrent calls for one user record one assignment.
        """
        self.conn.writable(f"experiment {experiment_id}'s assignments")
        akey, evkey, ckey = self._ekeys(experiment_id, user_id)

        async def body(pipe: Pipeline) -> str | None:
            await pipe.watch(akey)
            existing = as_bytes(await pipe.get(akey))
            if existing:
                return existing.decode("utf-8", "replace")
            raw = as_bytes(await pipe.get(self.experiment_key(experiment_id)))
            variant = self._variant(experiment_id, raw, user_id)
            if variant is None:
                return None
            now = self.clock.now()
            event = seed_event(experiment_id, user_id, ASSIGNED, {"variant": variant}, now)
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.execute_command("SETEX", akey, ASSIGNMENT_TTL_S, variant)  # as the seed
            pipe.lpush(evkey, event)
            pipe.expire(evkey, EVENTS_TTL_S)
            pipe.hincrby(ckey, users_field(variant), 1)
            pipe.hsetnx(ckey, FIRST_T, repr(now))
            await pipe.execute()
            return variant

        exhausted = Conflict(
            BACKEND, f"The assignment of {user_id} to experiment {experiment_id} kept changing; try again."
        )
        return await self.conn.transaction(
            f"assigning a variant of experiment {experiment_id}", body, exhausted, ATTEMPTS
        )

    @staticmethod
    def _variant(experiment_id: str, raw: bytes | None, user_id: str) -> str | None:
        """The variant the seed would assign, None when the experiment is absent or assigns nobody."""
        if raw is None:
            return None
        config = load_object(raw)
        if config is None:
            raise Invalid(
                BACKEND, f"Experiment {experiment_id} in Redis is not a JSON object, so no variant can be assigned."
            )
        try:
            return experiment_variant(config, user_id)
        except (ValueError, TypeError) as exc:
            raise Invalid(BACKEND, f"Experiment {experiment_id} cannot assign variants: {exc}") from None

    async def track_conversion(self, experiment_id: str, user_id: str, metric: str, value: float = 1.0) -> str | None:
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
        event = seed_event(
            experiment_id, user_id, CONVERSION, {"variant": variant, "metric": metric, "value": value}, self.clock.now()
        )
        async with self.conn.io(f"recording a conversion in experiment {experiment_id}"):
            pipe = self.conn.client.pipeline(transaction=True)
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

    async def results(self, ids: list[str], doing: str) -> tuple[dict[str, dict[str, VariantResult]], dict[str, float]]:
        """Results of many experiments in two round trips (HGETALL each, then SCARD each set),
        and the clock time of each one's first assignment when known."""
        if not ids:
            return {}, {}
        p = self.prefix
        async with self.conn.io(doing):
            pipe = self.conn.client.pipeline(transaction=False)
            for eid in ids:
                pipe.hgetall(p + counters_key(eid))
            hashes = await pipe.execute()
            sets: list[tuple[str, str, str | None]] = []
            for eid, fields in zip(ids, hashes, strict=False):
                for v, r in results_from_counters(fields).items():
                    sets.append((eid, v, None))
                    sets.extend((eid, v, m) for m in r.metrics)
            pipe = self.conn.client.pipeline(transaction=False)
            for eid, v, m in sets:
                pipe.scard(p + converters_key(eid, v, m))
            sizes = await pipe.execute() if sets else []
        per: dict[str, dict[tuple[str, str | None], int]] = {}
        for (eid, v, m), n in zip(sets, sizes, strict=False):
            per.setdefault(eid, {})[(v, m)] = int(n)
        firsts: dict[str, float] = {}
        for eid, fields in zip(ids, hashes, strict=False):
            try:
                firsts[eid] = float(fields[FIRST_T.encode()])
            except (KeyError, ValueError):
                pass
        results = {
            eid: results_from_counters(fields, per.get(eid, {})) for eid, fields in zip(ids, hashes, strict=False)
        }
        return results, firsts

    async def experiment_results(self, experiment_id: str) -> dict[str, VariantResult]:
        """Per-variant users (assignments), conversions, converters and per-metric totals, from the counters."""
        results, _ = await self.results([experiment_id], f"reading experiment {experiment_id}'s counters")
        return results[experiment_id]

    # ------------------------------------------------------------ sampling

    async def sample_user_ids(self, limit: int = 10_000) -> list[str]:
        """Distinct user ids from `assignment:<exp>:<user>` keys (SCAN, never KEYS), for cohort previews."""
        prefix = f"{self.prefix}assignment:"
        seen: dict[str, None] = {}
        async for keys in scan_batches(self.conn, f"{glob_escape(prefix)}*", "sampling assigned users", count=1000):
            for key in keys:
                text = key_text(key)
                _, _, user = text[len(prefix) :].partition(":")
                if user:
                    seen[user] = None
            if len(seen) >= limit:
                break
        return list(seen)[:limit]
