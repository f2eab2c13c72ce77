"""StoreDesk on a real redis-server: the kill switch and its audit entry in one MULTI, byte-preserving
kill and restore of every flag the seed serves, listings that survive any stored value."""

from __future__ import annotations

import json

import pytest

from app.clock import VirtualClock
from app.control.audit_trail import AuditTrail
from app.control.commands import KillFlag, RestoreFlag, SetExperimentStatus
from app.control.jobs import JobBoard
from app.control.store_desk import StoreDesk
from backends.base import AuditedWrites, ChangeFeed, CounterRebuild, ExperimentWrites, RawValues, UserSampler
from backends.redis import RedisStore
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration

DEEP = "[" * 1000 + "]" * 1000
ODD = {
    b"feature:with:colon": b'{"enabled":true,"percentage":30,"owner":"web"}',
    b"feature:surrogate": b'{"enabled":true,"note":"\\ud800","userWhitelist":["qa"]}',
    b"feature:deep-public": ('{"enabled":true,"public":{"x":' + DEEP + '},"percentage":50}').encode(),
    b"feature:spaced": b'{ "enabled" : true , "rules" : {"zeta":1,"alpha":[1.50,null]} }',
    b"feature:not-utf8 \xff": b'{"enabled":true,"blob":"\xfe\xff"}',
}


def desk_on(url: str) -> tuple[StoreDesk, RedisStore, AuditTrail]:
    clock = VirtualClock()
    store = RedisStore(url, clock=clock)
    trail = AuditTrail(store.audit, clock=clock)
    return StoreDesk(store, trail, JobBoard(clock), clock, False, "shiftroom@test#1"), store, trail


def test_the_redis_store_has_every_capability() -> None:
    store = RedisStore("redis://127.0.0.1:1/0")
    for capability in (ChangeFeed, ExperimentWrites, AuditedWrites, UserSampler, CounterRebuild, RawValues):
        assert isinstance(store, capability), capability


async def test_kill_and_restore_every_odd_flag_byte_for_byte_with_the_audit_entry_in_the_same_multi(
    redis_server: RedisServer,
) -> None:
    raw = redis_server.client()
    raw.mset(ODD)
    desk, store, trail = desk_on(redis_server.url)
    try:
        flags, _ = await desk.refresh()
        names = {f.name: f for f in flags}
        assert len(names) == len(ODD), names
        assert not names["deep-public"].valid and "deep" in names["deep-public"].error
        for key, original in ODD.items():
            name = key[len(b"feature:") :].decode("utf-8", "surrogateescape")
            before_len = raw.xlen("shiftroom:audit")
            result = await desk.execute(
                KillFlag(name, "incident 7"), await desk.preview(KillFlag(name, "x")), "alice@host"
            )
            assert result.ok, result.message
            killed = raw.get(key)
            assert killed != original and b'"killed":{"at":' in killed
            assert raw.xlen("shiftroom:audit") == before_len + 1, "the entry went in with the flag"
            entry = raw.xrevrange("shiftroom:audit", count=1)[0][1]
            assert entry[b"action"] == b"flag-kill" and entry[b"actor"] == b"alice@host"
            after = json.loads(entry[b"after"])
            assert after["enabled"] is False and after["killed"]["reason"] == "incident 7"
            restored = await desk.execute(RestoreFlag(name), None, "bob@host")
            assert restored.ok, restored.message
            assert raw.get(key) == original, name
        assert trail.queued == 0, "the room never re-sends what the transaction stored"
        await trail.flush()
        assert raw.xlen("shiftroom:audit") == 2 * len(ODD)
    finally:
        await store.aclose()
        raw.close()


async def test_a_user_without_xadd_gets_neither_the_kill_nor_its_entry(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    raw.set("feature:checkout", b'{"enabled":true,"percentage":40}')
    raw.execute_command("ACL", "SETUSER", "noxadd", "on", ">pw", "~*", "&*", "+@all", "-xadd")
    url = f"redis://noxadd:pw@127.0.0.1:{redis_server.port}/0"
    desk, store, trail = desk_on(url)
    try:
        result = await desk.execute(KillFlag("checkout", "incident"), None, "alice@host")
        assert not result.ok
        assert "checkout" in result.message or "denied" in result.message
        assert result.message.endswith(".") and "pw" not in result.message.replace("pwd", "")
        assert raw.get("feature:checkout") == b'{"enabled":true,"percentage":40}', "the flag was not changed"
        assert raw.exists("shiftroom:audit") == 0, "and nothing was recorded as done"
        assert not [e for e in trail.events if e.action == "flag-kill"]
    finally:
        await store.aclose()
        raw.close()


async def test_listing_survives_any_stored_value_and_names_every_key(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    values = {
        "deep": ("[" * 1000 + "]" * 1000).encode(),
        "deep-object": ('{"a":' * 1000 + "1" + "}" * 1000).encode(),
        "huge-float": b'{"enabled":true,"percentage":1e400}',
        "huge-int": b'{"enabled":true,"percentage":' + b"9" * 400 + b"}",
        "nan": b'{"enabled":true,"percentage":NaN}',
        "bom": b'\xef\xbb\xbf{"enabled":true}',
        "dupes": b'{"enabled":true,"enabled":false}',
        "binary": bytes(range(256)),
        "empty": b"",
        "good": b'{"enabled":true}',
    }
    for name, value in values.items():
        raw.set(f"feature:{name}", value)
        raw.set(f"experiment:{name}", value)
    raw.hset("feature:a-hash", mapping={"enabled": "true"})
    raw.rpush("feature:a-list", "x")
    raw.sadd("experiment:a-set", "x")
    raw.zadd("experiment:a-zset", {"x": 1})
    raw.xadd("feature:a-stream", {"x": "1"})
    before = {k: raw.dump(k) for k in raw.keys("*")}  # a test may use KEYS
    desk, store, _ = desk_on(redis_server.url)
    try:
        flags, experiments = await desk.refresh()
        assert desk.health is not None and desk.health.status == "up", desk.health
        assert {f.name for f in flags} == set(values) | {"a-hash", "a-list", "a-stream"}
        assert {e.id for e in experiments} == set(values) | {"a-set", "a-zset"}
        by = {f.name: f for f in flags}
        assert by["good"].valid and all(not by[n].valid for n in set(by) - {"good"}), {
            n: f.error for n, f in by.items()
        }
        assert "hash" in by["a-hash"].error and "stream" in by["a-stream"].error
        assert all(f.error.endswith(".") and "\n" not in f.error for f in flags if not f.valid), [
            f.error for f in flags if not f.error.endswith(".")
        ]
        # nothing was rewritten by listing, previewing, or refusing to kill them
        for name in ("deep", "binary", "a-hash", "empty"):
            preview = await desk.preview(KillFlag(name, "x"))
            assert not preview.possible and preview.lines[0].endswith("."), (name, preview.lines)
        status = await desk.execute(SetExperimentStatus("a-set", "paused"), None, "me")
        assert not status.ok and "a-set" in status.message
        assert {k: raw.dump(k) for k in raw.keys("*")} == before
    finally:
        await store.aclose()
        raw.close()
