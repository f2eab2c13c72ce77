"""Experiments on Redis: import, edit, seed-compatible tracking, counters and their rebuild."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import redis

from app.experiments import assign_variant
from backends.base import Conflict, Invalid
from backends.redis import RedisStore
from backends.redis.counters import seed_results
from backends.sim.store import SEED_EXPERIMENTS, SEED_EXPERIMENTS_JSON
from tests.seed_ab import SeedABTestManager
from tests.servers.redis import RedisServer

pytestmark = [
    pytest.mark.integration,
    # The seed's manager (tests/seed_ab.py) is kept verbatim, deprecated redis-py and datetime calls included.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:tests.seed_ab"),
]

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: ab-test-config
  namespace: microservices
data:
  experiments.json: |
""" + "".join(f"    {line}\n" for line in SEED_EXPERIMENTS_JSON.splitlines())


def _converters(raw: redis.Redis, experiment_id: str) -> dict[str, set[str]]:
    """Distinct converting users per variant, straight from the event lists."""
    out: dict[str, set[str]] = {}
    for key in raw.keys(f"events:{experiment_id}:*"):
        for data in raw.lrange(key, 0, -1):
            event = json.loads(data)
            if event["event_type"] == "conversion":
                out.setdefault(event["data"]["variant"], set()).add(event["user_id"])
    return out


async def test_import_from_the_configmap_and_edit_with_optimistic_concurrency(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url)
    try:
        assert await store.import_experiments(CONFIGMAP) == {
            "checkout-flow-redesign": "created",
            "product-page-layout": "created",
        }
        assert await store.import_experiments(SEED_EXPERIMENTS_JSON) == {
            "checkout-flow-redesign": "unchanged",
            "product-page-layout": "unchanged",
        }
        listed = await store.list_experiments()
        assert [e.id for e in listed] == ["checkout-flow-redesign", "product-page-layout"]
        assert listed[0].name == "Checkout Flow Redesign"
        assert listed[0].traffic_split == {"control": 50, "variant_a": 50}
        config, version = await store.get_experiment_raw("checkout-flow-redesign")
        assert config == SEED_EXPERIMENTS["checkout-flow-redesign"]
        assert list(config["targeting"]) == ["user_segments", "geo_locations"]  # order kept

        paused = {**SEED_EXPERIMENTS["product-page-layout"], "status": "paused"}
        changed = {**SEED_EXPERIMENTS, "product-page-layout": paused}
        with pytest.raises(Conflict, match="product-page-layout already exists"):
            await store.import_experiments(changed)
        assert (await store.get_experiment_raw("product-page-layout"))[0]["status"] == "active"  # nothing written
        assert (await store.import_experiments(changed, overwrite=True))["product-page-layout"] == "replaced"

        v2 = await store.put_experiment_raw("checkout-flow-redesign", {**config, "status": "paused"}, version)
        with pytest.raises(Conflict, match='status "active" → "paused"'):
            await store.put_experiment_raw("checkout-flow-redesign", {**config, "duration_days": 21}, version)
        with pytest.raises(Invalid, match="traffic_split"):
            await store.put_experiment_raw("checkout-flow-redesign", {**config, "traffic_split": {"a": 60}}, v2)
        with pytest.raises(Invalid, match="experiment"):
            await store.put_experiment_raw("bad:id", config, None)
        with pytest.raises(Invalid):
            await store.import_experiments("not: [valid")
    finally:
        await store.aclose()


async def test_tracking_writes_the_seeds_layout_and_counters_that_agree_with_it(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    store = RedisStore(redis_server.url)
    seed = SeedABTestManager(redis_server.url)
    try:
        await store.import_experiments(SEED_EXPERIMENTS_JSON)
        exp = "checkout-flow-redesign"
        users = [f"user-{i}" for i in range(400)]
        variants = [await store.track_assignment(exp, u) for u in users]
        assert variants == [assign_variant(SEED_EXPERIMENTS[exp], u) for u in users]
        assert variants == [seed.get_experiment_variant(exp, u) for u in users]  # the seed reads ours back
        for i, u in enumerate(users[:150]):
            await store.track_conversion(exp, u, "purchase", 10.0 + i % 7)
            if i % 3 == 0:
                await store.track_conversion(exp, u, "purchase", 5)  # a second purchase: one converter
            if i % 5 == 0:
                await store.track_conversion(exp, u, "signup")

        # The seed's layout, exactly: TTLs, event JSON, key order.
        assert 30 * 86400 - 5 <= raw.ttl(f"assignment:{exp}:user-0") <= 30 * 86400
        assert 90 * 86400 - 5 <= raw.ttl(f"events:{exp}:user-0") <= 90 * 86400
        newest, *_, oldest = raw.lrange(f"events:{exp}:user-0", 0, -1)
        first = json.loads(oldest)
        assert list(first) == ["timestamp", "experiment_id", "user_id", "event_type", "data"]
        assert first["event_type"] == "assigned" and first["data"] == {"variant": variants[0]}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?", first["timestamp"])
        assert oldest.decode() == json.dumps(first)  # the seed's json.dumps separators
        assert json.loads(newest)["data"] == {"variant": variants[0], "metric": "signup", "value": 1.0}

        # Counters agree with the seed's own method over the same events.
        results = await store.experiment_results(exp)
        assert seed_results(results) == seed.get_experiment_results(exp)["variants"]
        distinct = _converters(raw, exp)
        for v, r in results.items():
            assert r.converters == len(distinct[v])
            assert r.metrics["purchase"].converters == len([u for u in distinct[v] if int(u[5:]) < 150])
        purchases = [10.0 + i % 7 for i in range(150)] + [5.0] * 50
        assert sum(r.metrics["purchase"].total for r in results.values()) == pytest.approx(sum(purchases))
        total_sq = sum(r.metrics["purchase"].total_sq for r in results.values())
        assert total_sq == pytest.approx(sum(x * x for x in purchases))
        listed = {e.id: e for e in await store.list_experiments()}[exp]
        assert {s.name: (s.users, s.converters) for s in listed.variants} == {
            v: (r.users, r.converters) for v, r in results.items()
        }

        # Seed semantics: an existing assignment wins, only active experiments assign.
        await store.put_experiment_raw(exp, {**SEED_EXPERIMENTS[exp], "status": "paused"}, None)
        assert await store.track_assignment(exp, "user-0") == variants[0]
        assert await store.track_assignment(exp, "newcomer") is None
        assert await store.track_conversion(exp, "newcomer", "purchase") is None
        assert await store.track_assignment("no-such-experiment", "user-0") is None
        assert raw.exists(f"events:{exp}:newcomer") == 0
        assert seed_results(await store.experiment_results(exp)) == seed.get_experiment_results(exp)["variants"]
    finally:
        await store.aclose()
        raw.close()
        seed.redis_client.close()


async def test_concurrent_first_visits_record_one_assignment(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url)
    others = [RedisStore(redis_server.url) for _ in range(4)]
    try:
        await store.import_experiments(SEED_EXPERIMENTS_JSON)
        exp = "product-page-layout"
        got = await asyncio.gather(*(s.track_assignment(exp, "same-user") for s in [store, *others] * 5))
        assert len(set(got)) == 1
        results = await store.experiment_results(exp)
        assert sum(r.users for r in results.values()) == 1
        assert await store.client.llen(f"events:{exp}:same-user") == 1
    finally:
        for s in (store, *others):
            await s.aclose()


async def test_rebuild_from_seed_written_events_equals_the_seeds_results(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    seed = SeedABTestManager(redis_server.url)
    store = RedisStore(redis_server.url)
    try:
        await store.import_experiments(SEED_EXPERIMENTS_JSON)
        exp, other = "product-page-layout", "checkout-flow-redesign"
        pipe_users = [f"u{i}" for i in range(1000)]
        for i, u in enumerate(pipe_users):  # written by the seed's own manager: no counters
            seed.get_experiment_variant(exp, u)
            if i % 4 == 0:
                seed.track_conversion(exp, u, "click", 1.0 + i % 3)
            if i % 10 == 0:
                seed.track_conversion(other, u, "purchase")
        assert await store.experiment_results(exp) == {}

        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        seen: list[tuple[int, int]] = []
        task = asyncio.create_task(ticker())
        report = await store.rebuild_counters(exp, lambda done, total: seen.append((done, total)), batch=100)
        task.cancel()

        expected = seed.get_experiment_results(exp)["variants"]
        assert seed_results(report.results) == expected
        assert seed_results(await store.experiment_results(exp)) == expected
        assert report.keys == 1000 and report.events == 1000 + 250 and report.malformed == 0
        assert len(seen) > 5 and seen[-1] == (1000, 1000)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)
        assert ticks > len(seen)  # the event loop ran other tasks between batches
        distinct = _converters(raw, exp)
        results = await store.experiment_results(exp)
        assert {v: r.converters for v, r in results.items()} == {v: len(s) for v, s in distinct.items()}
        clicks = [1.0 + i % 3 for i in range(0, 1000, 4)]
        assert sum(r.metrics["click"].total for r in results.values()) == pytest.approx(sum(clicks))

        # Tracking through Shiftroom from here on keeps counters equal to the seed's method.
        for u in ["new-1", "new-2", "u0", "u1"]:
            await store.track_conversion(exp, u, "click")
        assert seed_results(await store.experiment_results(exp)) == seed.get_experiment_results(exp)["variants"]

        # A second rebuild replaces, it does not add.
        again = await store.rebuild_counters(exp)
        assert seed_results(again.results) == seed.get_experiment_results(exp)["variants"]
        assert await store.experiment_results(exp) == again.results

        # Tracking while a rebuild runs: nothing is replaced, and the caller is told to rerun.
        fired = []

        async def track_meanwhile(done: int, total: int) -> None:
            if not fired:
                fired.append(done)
                await store.track_conversion(exp, "late-user", "click")

        before = await store.experiment_results(exp)
        with pytest.raises(Conflict, match="run the rebuild again"):
            await store.rebuild_counters(exp, track_meanwhile, batch=100)
        after = await store.experiment_results(exp)
        assert sum(r.conversions for r in after.values()) == sum(r.conversions for r in before.values()) + 1
    finally:
        await store.aclose()
        seed.redis_client.close()
        raw.close()


async def test_rebuild_skips_malformed_events_instead_of_crashing(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    raw.rpush(
        "events:e:u1",
        b"not json",
        json.dumps({"event_type": "assigned", "data": {}}),
        json.dumps({"event_type": "assigned", "user_id": "u1", "data": {"variant": "a"}}),
    )
    store = RedisStore(redis_server.url)
    try:
        report = await store.rebuild_counters("e")
        assert (report.events, report.malformed, report.skipped) == (3, 1, 1)
        assert {v: r.users for v, r in (await store.experiment_results("e")).items()} == {"a": 1}
    finally:
        await store.aclose()
        raw.close()
