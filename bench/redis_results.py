"""Experiment results: Shiftroom's counters against the seed's KEYS + LRANGE, on one real redis-server.

One redis-server (`tests/servers/redis.py`) holds one experiment (the seed's
`checkout-flow-redesign`, 50/50) with USERS users:

- most of them written the way the seed's `ABTestManager` writes them
  (`assignment:<exp>:<user>` SETEX 30 d; the "assigned" event, and for about
  10 % of users a "conversion" event, LPUSHed onto `events:<exp>:<user>` as
  `_track_event` formats it, EXPIRE 90 d), pipelined so that loading does
  not dominate the run; then `RedisStore.rebuild_counters` builds
  Shiftroom's counters from those lists, as it would for existing seed data;
- the last LIVE users tracked by Shiftroom itself (`RedisStore.track_assignment`
  / `track_conversion`), which write the same events and the counters in one
  transaction.

Then, on the same data:

- Shiftroom: `RedisStore.experiment_results(exp)` (HGETALL of the counters
  hash, then SCARD of the converter sets), median of RUNS calls;
- the seed: `get_experiment_results` (KEYS `events:<exp>:*`, LRANGE each
  key, json.loads each event), reproduced verbatim below with the synchronous
  redis-py client the seed uses, median of SEED_RUNS calls;

and whether both give the same assignments, conversions and conversion rates
per variant. The `rebuild_counters` that adopted the seed-written lists is
timed once, for reference: what adopting existing seed data costs, once.

    python -m bench.redis_results [--users 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis

    from backends.redis import RedisStore
    from tests.servers.redis import RedisServer

USERS = 100_000
LIVE = 2_000  # the last users, tracked through RedisStore
CONVERSION_SHARE = 0.10
RUNS = 21
SEED_RUNS = 3
EXPERIMENT_ID = "checkout-flow-redesign"
EXPERIMENT = {  # the seed's ConfigMap entry
    "name": "Checkout Flow Redesign",
    "description": "Testing new streamlined checkout process",
    "status": "active",
    "traffic_split": {"control": 50, "variant_a": 50},
    "targeting": {"user_segments": ["new_users", "mobile_users"], "geo_locations": ["US", "CA", "UK"]},
    "metrics": {"primary": "conversion_rate", "secondary": ["cart_abandonment", "time_to_checkout"]},
    "duration_days": 14,
    "min_sample_size": 1000,
}
METRIC = "purchase"
T0 = 1_700_000_000.0


# ---------------------------------------------------------------- data


def user_id(i: int) -> str:
    return f"user-{i:06d}"


def converts(rng: random.Random, share: float = CONVERSION_SHARE) -> float | None:
    """The value of this user's conversion, or None when the user does not convert."""
    return round(rng.uniform(5, 250), 2) if rng.random() < share else None


def load_seed_data(
    client: redis.Redis, experiment_id: str, config: dict[str, Any], users: range, *, seed: int = 7, chunk: int = 5000
) -> int:
    """Write `users` as the seed's manager would (pipelined, `chunk` users per round trip).

    Returns the number of events written. Variants come from the seed's hash
    (`app.experiments.assign_variant`), events from `backends.redis.counters.seed_event`
    (the seed's JSON, key order and separators included).
    """
    from app.experiments import ASSIGNMENT_TTL_S, EVENTS_TTL_S, assign_variant, assignment_key, events_key
    from backends.redis.counters import ASSIGNED, CONVERSION, seed_event

    client.set(f"experiment:{experiment_id}", json.dumps(config))
    rng = random.Random(seed)
    events = 0
    pipe = client.pipeline(transaction=False)
    for n, i in enumerate(users, 1):
        user = user_id(i)
        variant = assign_variant(config, user)
        t = T0 + i * 0.01
        ekey = events_key(experiment_id, user)
        # SETEX as the seed sends it (pipe.setex warns that SETEX is deprecated); redis-py leaves
        # Pipeline.execute_command unannotated.
        pipe.execute_command(  # type: ignore[no-untyped-call]
            "SETEX", assignment_key(experiment_id, user), ASSIGNMENT_TTL_S, variant
        )
        pipe.lpush(ekey, seed_event(experiment_id, user, ASSIGNED, {"variant": variant}, t))
        pipe.expire(ekey, EVENTS_TTL_S)
        events += 1
        value = converts(rng)
        if value is not None:
            data = {"variant": variant, "metric": METRIC, "value": value}
            pipe.lpush(ekey, seed_event(experiment_id, user, CONVERSION, data, t + 5))
            pipe.expire(ekey, EVENTS_TTL_S)
            events += 1
        if n % chunk == 0:
            pipe.execute()
    pipe.execute()
    return events


async def track_live(store: RedisStore, experiment_id: str, users: range, *, seed: int = 11) -> int:
    """Track `users` through Shiftroom's own tracking; returns the events written."""
    rng = random.Random(seed)
    events = 0
    for i in users:
        user = user_id(i)
        await store.track_assignment(experiment_id, user)
        events += 1
        value = converts(rng)
        if value is not None:
            await store.track_conversion(experiment_id, user, METRIC, value)
            events += 1
    return events


def comparable(variants: dict[Any, dict[str, Any]]) -> dict[str, tuple[int, int, float]]:
    """{variant: (assignments, conversions, conversion rate)} for comparing the two methods."""
    return {
        str(v): (int(s["assignments"]), int(s["conversions"]), round(float(s["conversion_rate"]), 12))
        for v, s in variants.items()
    }


def agreement(seed: dict[str, Any], counters: dict[str, Any]) -> tuple[bool, str]:
    from backends.redis.counters import seed_results

    a, b = comparable(seed["variants"]), comparable(seed_results(counters))
    if a == b:
        return True, "both methods agree: " + ", ".join(
            f"{v} {n} assigned / {c} converted ({r:.2%})" for v, (n, c, r) in sorted(a.items())
        )
    return False, f"the methods DISAGREE: seed {a} vs counters {b}"


# ---------------------------------------------------------------- the run


def require_redis_server() -> None:
    from tests.servers.redis import redis_binary

    if redis_binary() is None:
        raise SystemExit(
            "redis-server is not installed; install it (Debian: apt-get install redis-server) to run this bench."
        )


async def _store_part(
    url: str, live_users: range, runs: int, seed_runs: int, measure_seed: Callable[[], tuple[float, dict[str, Any]]]
) -> dict[str, Any]:
    """Adopt the seed's data, track the live users, then time both ways of reading the results
    (the seed's runs interleaved with the first counter runs)."""
    from backends.redis import RedisStore

    store = RedisStore(url)
    out: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        rebuilt = await store.rebuild_counters(EXPERIMENT_ID)
        out["rebuild_s"] = time.perf_counter() - t0
        out["rebuild_keys"], out["rebuild_events"] = rebuilt.keys, rebuilt.events
        t0 = time.perf_counter()
        out["live_events"] = await track_live(store, EXPERIMENT_ID, live_users)
        out["live_s"] = time.perf_counter() - t0

        await store.experiment_results(EXPERIMENT_ID)  # connect once
        seed_times, counter_times = [], []
        seed_result = counters = None
        for i in range(max(runs, seed_runs, 1)):
            t0 = time.perf_counter()
            counters = await store.experiment_results(EXPERIMENT_ID)
            counter_times.append(time.perf_counter() - t0)
            if i < seed_runs:
                seed_s, seed_result = measure_seed()
                seed_times.append(seed_s)
        out["counters_ms"] = statistics.median(counter_times) * 1e3
        out["seed_ms"] = statistics.median(seed_times) * 1e3
        out["counters_range"] = (min(counter_times) * 1e3, max(counter_times) * 1e3)
        out["seed_range"] = (min(seed_times) * 1e3, max(seed_times) * 1e3)
        out["seed_runs"], out["runs"] = len(seed_times), len(counter_times)
        assert seed_result is not None and counters is not None  # the medians above need a run of each
        out["agree"], out["agreement"] = agreement(seed_result, counters)
    finally:
        await store.aclose()
    return out


def start_redis_or_exit(tmp: str) -> RedisServer:
    """A fresh redis-server for a bench; a failure to start is one sentence (SystemExit)."""
    from tests.servers.redis import start_redis

    require_redis_server()
    try:
        return start_redis(Path(tmp))
    except RuntimeError as err:
        raise SystemExit(f"redis-server did not start for the bench: {err}") from None


def measure(users: int = USERS, runs: int = RUNS, seed_runs: int = SEED_RUNS, live: int = LIVE) -> dict[str, Any]:
    live = min(live, users)
    seed_users, live_users = range(0, users - live), range(users - live, users)
    with tempfile.TemporaryDirectory(prefix="shiftroom-bench-") as tmp:
        server = start_redis_or_exit(tmp)
        try:
            client = server.client()
            t0 = time.perf_counter()
            events = load_seed_data(client, EXPERIMENT_ID, EXPERIMENT, seed_users)
            load_s = time.perf_counter() - t0

            from tests.seed_ab import SeedABTestManager

            seed_manager = SeedABTestManager(server.url)  # the seed's own code, verbatim

            def measure_seed() -> tuple[float, dict[str, Any]]:
                t = time.perf_counter()
                result = seed_manager.get_experiment_results(EXPERIMENT_ID)
                return time.perf_counter() - t, result

            out = asyncio.run(_store_part(server.url, live_users, runs, seed_runs, measure_seed))
            out["keys"] = client.dbsize()
            out["memory"] = client.info("memory").get("used_memory_human", "?")
            client.close()
        finally:
            server.stop(kill=True)
    out.update(users=users, live=live, seed_events=events, load_s=load_s)
    return out


def report(m: dict[str, Any]) -> list[str]:
    ratio = m["seed_ms"] / m["counters_ms"] if m["counters_ms"] else float("nan")
    return [
        f"experiment results, {m['users']:,} users ({m['users'] - m['live']:,} written as the seed's manager does, "
        f"{m['live']:,} tracked by Shiftroom), {m['seed_events'] + m['live_events']:,} events, "
        f"{m['keys']:,} keys, {m['memory']} in redis-server",
        f"  load: seed-format pipeline {m['load_s']:.1f} s; {m['live']:,} users tracked live {m['live_s']:.1f} s",
        f"  {'':<54} {'median':>12} {'min … max':>22}",
        f"  {'Shiftroom counters (experiment_results), ' + str(m['runs']) + ' runs':<54} {m['counters_ms']:>9.2f} ms"
        f" {m['counters_range'][0]:>9.2f} … {m['counters_range'][1]:.2f} ms",
        f"  {'seed get_experiment_results (KEYS+LRANGE+json), ' + str(m['seed_runs']) + ' runs':<54} "
        f"{m['seed_ms']:>9.0f} ms {m['seed_range'][0]:>9.0f} … {m['seed_range'][1]:.0f} ms",
        f"  {'ratio (seed / counters)':<54} {ratio:>10.0f}×",
        f"  for reference, once: rebuild_counters from the {m['rebuild_keys']:,} seed-written event lists "
        f"({m['rebuild_events']:,} events) {m['rebuild_s']:.1f} s",
        f"  {m['agreement']}",
    ]


def summary(m: dict[str, Any]) -> str:
    ratio = m["seed_ms"] / m["counters_ms"] if m["counters_ms"] else float("nan")
    return (
        f"experiment results for {m['users']:,} users: counters {m['counters_ms']:.2f} ms vs the seed's "
        f"KEYS+LRANGE {m['seed_ms']:.0f} ms ({ratio:.0f}×); "
        f"{'same numbers' if m['agree'] else 'NUMBERS DIFFER'}; "
        f"rebuild {m['rebuild_s']:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.redis_results")
    p.add_argument("--users", type=int, default=USERS)
    p.add_argument("--runs", type=int, default=RUNS)
    p.add_argument("--seed-runs", type=int, default=SEED_RUNS)
    p.add_argument("--live", type=int, default=LIVE)
    a = p.parse_args(argv)
    print("\n".join(report(measure(a.users, a.runs, a.seed_runs, a.live))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
