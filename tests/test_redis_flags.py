"""RedisStore flags against a real redis-server: seed compatibility, concurrency, outages, bad data."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from app.clock import EPOCH, VirtualClock
from app.flags import flag_to_json
from app.model import AuditEvent
from backends.base import Conflict, Invalid, ReadOnly, Store, Unavailable
from backends.redis import RedisAudit, RedisStore
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

# What the seed's Node service stores: `client.set(key, JSON.stringify(config))`.
SEED_TEXT = (
    '{"enabled":true,"environments":["production","staging"],"percentage":25,'
    '"public":{"layout":"grid","theme":"v2","title":"Café ☕"},'
    '"owner":"team-web","rules":{"zeta":1,"alpha":[1.5,null,"x"]},"userWhitelist":["qa-team"]}'
)


async def test_seed_written_flag_round_trips_with_unknown_fields_and_key_order(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    raw.set("feature:new-product-design", SEED_TEXT.encode())
    store = RedisStore(redis_server.url)
    try:
        assert isinstance(store, Store)
        (flag,) = await store.list_flags()
        assert flag.name == "new-product-design" and flag.valid
        assert flag.environments == ("production", "staging") and flag.percentage == 25
        assert flag.public["title"] == "Café ☕"
        config, version = await store.get_flag_raw("new-product-design")
        assert list(config) == ["enabled", "environments", "percentage", "public", "owner", "rules", "userWhitelist"]
        new_version = await store.put_flag_raw("new-product-design", flag_to_json({"percentage": 50}, config), version)
        assert new_version != version
        # Byte for byte what the seed would have written for the edited config.
        assert raw.get("feature:new-product-design").decode() == SEED_TEXT.replace('"percentage":25', '"percentage":50')
        # Unchanged write stores the same bytes, so the version does not move.
        stored = (await store.get_flag_raw("new-product-design"))[0]
        again = await store.put_flag_raw("new-product-design", stored, new_version)
        assert again == new_version
        # A Flag model written back keeps the unknown fields too.
        edited = flag.model_copy(update={"enabled": False})
        await store.put_flag_raw("new-product-design", flag_to_json(edited, config), again)
        stored = json.loads(raw.get("feature:new-product-design"))
        assert stored["owner"] == "team-web" and stored["rules"] == {"zeta": 1, "alpha": [1.5, None, "x"]}
        assert stored["enabled"] is False
    finally:
        await store.aclose()
        raw.close()


async def test_names_are_validated_and_create_only_refuses_an_existing_flag(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url)
    try:
        for bad in ("", "a:b", "x*", "sp ace", "a" * 129):
            with pytest.raises(Invalid):
                await store.put_flag_raw(bad, {"enabled": True}, "0")
        assert await store.get_flag_raw("nope") == (None, "0")
        await store.put_flag_raw("f", {"enabled": True}, "0")
        with pytest.raises(Conflict, match="created by someone else"):
            await store.put_flag_raw("f", {"enabled": False}, "0")
        with pytest.raises(Invalid):
            await store.put_flag_raw("f", {"percentage": float("nan")}, None)
        _, version = await store.get_flag_raw("f")
        await store.delete_flag("f", version)
        assert await store.get_flag_raw("f") == (None, "0")
        with pytest.raises(Conflict, match="deleted"):
            await store.put_flag_raw("f", {"enabled": True}, version)
    finally:
        await store.aclose()


async def test_concurrent_editors_exactly_one_wins_and_losers_learn_what_changed(redis_server: RedisServer) -> None:
    redis_server.client().set("feature:checkout", b'{"enabled":true,"percentage":25,"extra":"keep"}')
    editors = [RedisStore(redis_server.url) for _ in range(8)]
    try:
        reads = [await e.get_flag_raw("checkout") for e in editors]
        assert len({v for _, v in reads}) == 1

        async def edit(i: int) -> str:
            config, version = reads[i]
            return await editors[i].put_flag_raw("checkout", flag_to_json({"percentage": 30 + i}, config), version)

        outcomes = await asyncio.gather(*(edit(i) for i in range(8)), return_exceptions=True)
        winners = [i for i, o in enumerate(outcomes) if isinstance(o, str)]
        losers = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(winners) == 1 and len(losers) == 7, outcomes
        stored, _ = await editors[0].get_flag_raw("checkout")
        assert stored == {"enabled": True, "percentage": 30 + winners[0], "extra": "keep"}
        for err in losers:
            assert f"percentage 25 → {30 + winners[0]}" in str(err)
            assert str(err).count(". ") == 0 and str(err).endswith(".")
    finally:
        for e in editors:
            await e.aclose()


async def test_redis_killed_and_restarted_mid_session(redis_factory) -> None:
    server = redis_factory(password="s3cret-pw")
    store = RedisStore(server.url)
    audit = RedisAudit(server.url)
    try:
        await store.put_flag_raw("f", {"enabled": True}, "0")
        server.stop(kill=True)
        for call in (
            store.put_flag_raw("f", {"enabled": False}, None),
            store.list_flags(),
            store.put_flag_audited("f", {"enabled": False}, None, _event()),
            store.track_conversion("exp", "u1", "buy"),
            audit.recent(),
        ):
            with pytest.raises(Unavailable) as err:
                await call
            text = str(err.value)
            assert "Redis" in text and f"127.0.0.1:{server.port}" in text and "s3cret-pw" not in text
            assert text.endswith(".") and ". " not in text
        server.start()  # same port, empty (nothing persisted)
        deadline = time.monotonic() + 5
        while True:  # recovers by itself: same store object, no reconnect call
            try:
                version = await store.put_flag_raw("f", {"enabled": False, "percentage": 10}, None)
                break
            except Unavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        assert await store.get_flag_raw("f") == ({"enabled": False, "percentage": 10}, version)
        assert [f.name for f in await store.list_flags()] == ["f"]
    finally:
        await store.aclose()
        await audit.aclose()


async def test_a_thousand_malformed_values_are_listed_invalid_and_never_overwritten(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    bad_values = [b'{"enabled": tru', b"[1,2,3]", b"42", b"null", b'"on"', b"\xff\xfe{}", b"", b'{"a":1}{']
    pipe = raw.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"feature:bad-{i:04}", bad_values[i % len(bad_values)])
        pipe.set(f"experiment:bad-{i:04}", bad_values[i % len(bad_values)])
    pipe.hset("feature:a-hash", mapping={"enabled": "true"})
    pipe.rpush("experiment:a-list", "x")
    pipe.set("feature:good", b'{"enabled":true}')
    pipe.set("feature:wrong-types", b'{"enabled":"yes","percentage":"50"}')
    pipe.execute()
    before = dict(zip(raw.keys("*"), raw.mget(raw.keys("*")), strict=True))  # a test may use KEYS
    store = RedisStore(redis_server.url)
    try:
        flags = await store.list_flags()
        assert len(flags) == 1003
        by_name = {f.name: f for f in flags}
        assert by_name["good"].valid and by_name["good"].enabled
        assert all(not by_name[f"bad-{i:04}"].valid for i in range(1000))
        assert "hash" in by_name["a-hash"].error and not by_name["wrong-types"].valid
        experiments = await store.list_experiments()
        assert len(experiments) == 1001 and all(e.error for e in experiments)

        with pytest.raises(Invalid):
            await store.get_flag_raw("bad-0000")
        for i in range(0, 16):
            name = f"bad-{i:04}"
            with pytest.raises(Invalid):
                await store.put_flag_raw(name, {"enabled": False}, None)
            with pytest.raises(Invalid):
                await store.put_flag_bytes(name, b'{"enabled":false}', None, _event())
            with pytest.raises((Invalid, Conflict)):
                await store.put_flag_raw(name, {"enabled": False}, "some-other-version")
            with pytest.raises(Invalid):
                await store.delete_flag(name, None)
            with pytest.raises(Invalid):
                await store.put_experiment_raw(name, {"name": "n", "traffic_split": {"a": 100}}, None)
        with pytest.raises(Invalid):
            await store.track_assignment("bad-0000", "user-1")
        assert dict(zip(raw.keys("*"), raw.mget(raw.keys("*")), strict=True)) == before

        # A deliberate repair names the exact version of the bad bytes.
        text, version = await store.get_flag_bytes("bad-0001")
        assert text == b"[1,2,3]"
        await store.put_flag_raw("bad-0001", {"enabled": False}, version)
        assert raw.get("feature:bad-0001") == b'{"enabled":false}'
    finally:
        await store.aclose()
        raw.close()


async def test_read_only_refuses_every_write_and_sends_no_write_command(redis_server: RedisServer) -> None:
    rw = RedisStore(redis_server.url)
    await rw.put_flag_raw("f", {"enabled": True}, "0")
    await rw.import_experiments({"e": {"name": "E", "status": "active", "traffic_split": {"control": 50, "b": 50}}})
    raw = redis_server.client()
    raw.config_resetstat()
    ro = RedisStore(redis_server.url, read_only=True)
    ro_audit = RedisAudit(redis_server.url, read_only=True)
    try:
        _, version = await ro.get_flag_raw("f")
        writes = [
            ro.put_flag_raw("f", {"enabled": False}, version),
            ro.put_flag_raw("g", {"enabled": False}, "0"),
            ro.delete_flag("f", version),
            ro.put_flag_bytes("f", b"{}", version, _event()),
            ro.put_experiment_raw("e", {"name": "E", "traffic_split": {"a": 100}}, None),
            ro.import_experiments({"x": {"name": "X", "traffic_split": {"a": 100}}}),
            ro.track_assignment("e", "u1"),
            ro.track_conversion("e", "u1", "buy"),
            ro.rebuild_counters("e"),
            ro_audit.append(_event()),
        ]
        for call in writes:
            with pytest.raises(ReadOnly):
                await call
        assert [f.name for f in await ro.list_flags()] == ["f"]
        assert [e.id for e in await ro.list_experiments()] == ["e"]
        await ro.experiment_results("e")
        await ro_audit.recent()
        stats = raw.info("commandstats")
        sent = {name.removeprefix("cmdstat_") for name in stats}
        write_commands = {
            "set",
            "setex",
            "del",
            "unlink",
            "multi",
            "exec",
            "watch",
            "lpush",
            "expire",
            "hset",
            "hincrby",
            "hincrbyfloat",
            "sadd",
            "xadd",
            "config|set",
        }
        assert sent & write_commands == set(), sent
        assert {"scan", "mget", "get"} <= sent  # the reads did go to Redis
        assert await rw.get_flag_raw("f") == ({"enabled": True}, version)
    finally:
        for backend in (rw, ro, ro_audit):
            await backend.aclose()
        raw.close()


def _event() -> AuditEvent:
    return AuditEvent(t=1.0, actor="me", target="flag:f", action="edit")


async def test_a_write_landing_between_read_and_exec_is_caught_by_watch(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    raw.set("feature:f", b'{"enabled":true,"percentage":25}')
    store = RedisStore(redis_server.url)
    config, version = await store.get_flag_raw("f")
    checks = store._guard
    calls = 0

    def sneak_in(*args: object) -> None:
        # Runs after WATCH + GET and before MULTI/EXEC: another client writes right then.
        nonlocal calls
        calls += 1
        if calls == 1:
            raw.set("feature:f", b'{"enabled":true,"percentage":99}')
        checks(*args)

    store._guard = sneak_in  # type: ignore[method-assign]
    try:
        with pytest.raises(Conflict, match="percentage 25 → 99"):
            await store.put_flag_raw("f", {**config, "percentage": 50}, version)
        assert calls == 1  # the version check on the retry refused before any second write attempt
        assert raw.get("feature:f") == b'{"enabled":true,"percentage":99}'
    finally:
        await store.aclose()
        raw.close()


async def test_key_prefix_and_injected_clock(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    raw.set("feature:outside", b'{"enabled":true}')
    clock = VirtualClock()
    store = RedisStore(redis_server.url, key_prefix="team-a:", clock=clock)
    try:
        await store.put_flag_raw("inside", {"enabled": True, "percentage": 5}, "0")
        assert raw.get("team-a:feature:inside") == b'{"enabled":true,"percentage":5}'
        assert [f.name for f in await store.list_flags()] == ["inside"]
        await store.put_flag_audited("inside", {"enabled": False}, None, _event())
        assert raw.xlen("shiftroom:audit") == 1 and raw.get("team-a:feature:inside") == b'{"enabled":false}'
        await store.import_experiments({"e": {"name": "E", "status": "active", "traffic_split": {"a": 100}}})
        assert await store.track_assignment("e", "u1") == "a"
        (event_json,) = raw.lrange("team-a:events:e:u1", 0, -1)
        assert json.loads(event_json)["timestamp"] == "2026-01-01T00:00:00"
        assert raw.hgetall("team-a:shiftroom:exp:e:counters") == {b"users:a": b"1", b"first_t": repr(EPOCH).encode()}
        await clock.advance(2.5 * 86400)
        assert await store.track_assignment("e", "u2") == "a"
        (experiment,) = await store.list_experiments()
        assert experiment.users == 2
        if "elapsed_days" in type(experiment).model_fields:
            assert experiment.elapsed_days == 2.5
        report = await store.rebuild_counters("e")
        assert report.results["a"].users == 2
        assert float(raw.hget("team-a:shiftroom:exp:e:counters", "first_t")) == EPOCH  # from the events' timestamps
    finally:
        await store.aclose()
        raw.close()


async def test_wrong_credentials_are_one_sentence_without_the_password(redis_factory) -> None:
    server = redis_factory(password="right-pw")
    store = RedisStore(f"redis://:wrong-pw@127.0.0.1:{server.port}/0")
    try:
        with pytest.raises(Unavailable, match="refused the credentials") as err:
            await store.ping()
        assert "wrong-pw" not in str(err.value) and f"redis://127.0.0.1:{server.port}/0" in str(err.value)
        with pytest.raises(Invalid, match="not valid"):
            RedisStore("http://127.0.0.1:1")
    finally:
        await store.aclose()
