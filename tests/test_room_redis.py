"""The engine on a real redis-server: live flag changes, Redis going away and coming back."""

from __future__ import annotations

import asyncio
import json
import time

import redis

from app.factory import RoomOptions, make_demo
from app.model import HealthStatus
from tests.servers.redis import redis_server  # noqa: F401 - fixture


def health(engine, name: str) -> HealthStatus:
    return next(h.status for h in engine.state.health if h.name == name)


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_flags_written_elsewhere_appear_and_redis_outage_recovers(redis_server) -> None:  # noqa: F811
    raw = redis.Redis.from_url(redis_server.url)
    raw.set("feature:new-product-design", json.dumps({"enabled": True, "percentage": 25, "owner": "web"}))
    demo = make_demo(RoomOptions(scenario="healthy-canary", virtual=True, redis_url=redis_server.url,
                                 actor="t@h"))
    engine, clock = demo.engine, demo.clock
    await engine.start()
    try:
        await clock.advance(6)
        await engine.idle()
        await wait_for(lambda: [f.name for f in engine.state.flags] == ["new-product-design"])

        # the seed's service (or another room) writes: the room shows it without a refresh tick
        started = time.monotonic()
        raw.set("feature:ai-recommendations", json.dumps({"enabled": False, "userWhitelist": ["u1"]}))
        await wait_for(lambda: len(engine.state.flags) == 2, timeout=3)
        assert time.monotonic() - started < 1.5

        redis_server.stop(kill=True)
        await clock.advance(10)
        await engine.idle()
        await wait_for(lambda: health(engine, "store") is HealthStatus.DOWN)
        reason = next(h.reason for h in engine.state.health if h.name == "store")
        assert "Redis" in reason and "\n" not in reason
        assert len(engine.state.flags) == 2, "the last good data stays on screen"

        redis_server.start()
        for _ in range(40):
            await clock.advance(5)
            await engine.idle()
            if health(engine, "store") is HealthStatus.UP:
                break
            await asyncio.sleep(0.05)
        assert health(engine, "store") is HealthStatus.UP, "recovers by itself"
    finally:
        await engine.stop()
        raw.close()


async def test_cohort_preview_samples_the_users_assigned_in_redis(redis_server) -> None:  # noqa: F811
    from app.control.cohorts import experiment_user_ids
    from backends.redis import RedisStore

    raw = redis.Redis.from_url(redis_server.url)
    raw.set("experiment:checkout-flow-redesign", json.dumps({
        "name": "Checkout Flow Redesign", "status": "active", "traffic_split": {"control": 50, "variant_a": 50}}))
    raw.close()
    store = RedisStore(redis_server.url)
    try:
        for i in range(30):
            await store.track_assignment("checkout-flow-redesign", f"shopper:{i}")
        demo = make_demo(RoomOptions(scenario="healthy-canary", virtual=True, redis_url=redis_server.url))
        ids, label = await experiment_user_ids(demo.engine, limit=1000)
        assert sorted(ids) == sorted(f"shopper:{i}" for i in range(30)), "ids with ':' survive"
        assert label == "assigned experiment users"
        await demo.engine.store.aclose()
    finally:
        await store.aclose()
