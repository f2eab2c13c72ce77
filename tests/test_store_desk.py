"""StoreDesk on the simulator's store: one kill switch, byte-preserving edits, previews with versions."""

from __future__ import annotations

import itertools
import json

import pytest

from app.clock import VirtualClock
from app.control import flag_edits, rawjson
from app.control.audit_trail import AuditTrail
from app.control.commands import NEW_VERSION, KillFlag, RestoreFlag, SaveFlag, SetExperimentStatus
from app.control.jobs import JobBoard
from app.control.store_desk import StoreDesk
from app.flags import served
from backends.base import AuditedWrites, RawValues, UserSampler
from backends.sim.store import AuditedSimStore, SimAudit, SimStore

DEEP = "[" * 3000 + "]" * 3000
ODD = {
    "with:colon": b'{"enabled":true,"percentage":30}',
    "surrogate": b'{"enabled":true,"note":"\\ud800 lone","userWhitelist":["u\\udc00"],"percentage":0}',
    "deep-public": ('{"enabled":true, "public": {"x": ' + DEEP + '}, "environments":["production"]}').encode(),
    "duplicates": b'{"enabled":false,"enabled":true,"owner":"web"}',
    "not-utf8": b'{"enabled":true,"blob":"\xff\xfe raw","percentage":100}',
    "spaced": b'{\n  "enabled" : true ,\n  "rules" : { "zeta" : 1, "alpha" : [1.50, null] }\n}\n',
    "string-envs": b'{"enabled":true,"environments":"production,staging"}',
}
USERS = [None, "", "anonymous", "u\udc00"] + [f"user-{i}" for i in range(200)]
ENVS = [None, "", "production", "staging", "dev"]


def desk_with(store: SimStore, *, read_only: bool = False) -> tuple[StoreDesk, AuditTrail]:
    clock = store.clock
    trail = AuditTrail(getattr(store, "audit", None), clock=clock)
    return StoreDesk(store, trail, JobBoard(clock), clock, read_only, "shiftroom@test#1"), trail


def odd_store() -> AuditedSimStore:
    store = AuditedSimStore(VirtualClock(), SimAudit(), flags={})
    for name, raw in ODD.items():
        store._flags.put(name, {})
        store._flag_bytes[name] = raw
    return store


def test_the_sim_store_has_the_capabilities_it_claims() -> None:
    clock = VirtualClock()
    audited, plain = AuditedSimStore(clock, SimAudit()), SimStore(clock)
    assert isinstance(audited, AuditedWrites) and isinstance(audited, RawValues) and isinstance(audited, UserSampler)
    assert not isinstance(plain, AuditedWrites) and isinstance(plain, RawValues)


@pytest.mark.parametrize("name", sorted(ODD))
async def test_every_flag_the_seed_serves_is_killed_and_restored_byte_for_byte(name: str) -> None:
    store = odd_store()
    desk, trail = desk_with(store)
    original = ODD[name]
    preview = await desk.preview(KillFlag(name, "incident 42"))
    assert preview.possible, preview.lines
    assert preview.destructive and preview.confirm_name == name and preview.version
    result = await desk.execute(KillFlag(name, "incident 42"), preview, "alice@host")
    assert result.ok, result.message
    assert name in result.message
    killed, _ = await store.get_flag_bytes(name)
    text = rawjson.decode(killed)
    config = flag_edits.evaluated_fields(text)
    for uid, env in itertools.product(USERS, ENVS):
        assert not served(config, uid, env, name=name), (uid, env)
    # every member Shiftroom did not change is still there, byte for byte
    for m in rawjson.members(rawjson.decode(original)) or []:
        if m.key not in ("enabled", "percentage", "userWhitelist", "environments"):
            assert rawjson.decode(original)[m.start : m.value_end] in text
    (event,) = [e for e in trail.events if e.action == "flag-kill"]
    assert event.actor == "alice@host" and event.reason == "incident 42" and event.target == f"flag/{name}"
    assert set(event.before) == set(event.after) and "killed" in event.after
    assert event.after["killed"]["by"] == "alice@host"
    assert [e.action for e in await store.audit.recent()] == ["flag-kill"], "written with the flag"

    restored = await desk.execute(RestoreFlag(name), None, "bob@host")
    assert restored.ok, restored.message
    assert (await store.get_flag_bytes(name))[0] == original


async def test_killing_a_killed_flag_keeps_the_first_previous_values() -> None:
    store = odd_store()
    desk, _ = desk_with(store)
    assert (await desk.execute(KillFlag("with:colon", "first"), None, "a")).ok
    assert (await desk.execute(KillFlag("with:colon", "second"), None, "b")).ok
    assert (await desk.execute(RestoreFlag("with:colon"), None, "c")).ok
    assert (await store.get_flag_bytes("with:colon"))[0] == ODD["with:colon"]


async def test_a_stale_confirmation_is_refused_with_the_fresh_preview() -> None:
    store = odd_store()
    desk, trail = desk_with(store)
    preview = await desk.preview(KillFlag("with:colon", "incident"))
    await store.put_flag_bytes("with:colon", b'{"enabled":true,"percentage":90}', preview.version)
    result = await desk.execute(KillFlag("with:colon", "incident"), preview, "alice")
    assert not result.ok and result.stale and result.preview is not None
    assert "with:colon" in result.message and result.preview.version != preview.version
    assert any("30 → 0" not in line and "90 → 0" in line for line in result.preview.lines)
    assert (await store.get_flag_bytes("with:colon"))[0] == b'{"enabled":true,"percentage":90}'
    assert not [e for e in trail.events if e.action == "flag-kill"]


async def test_refusals_are_one_sentence_naming_the_flag() -> None:
    store = odd_store()
    store._flags.put("garbage", {})
    store._flag_bytes["garbage"] = b"[1,2"
    desk, _ = desk_with(store)
    cases = [
        (KillFlag("absent", "x"), "does not exist"),
        (KillFlag("garbage", "x"), "not a JSON object"),
        (RestoreFlag("with:colon"), "was not killed by Shiftroom"),
        (KillFlag("with:colon", "  "), "Say why"),
        (SaveFlag("bad name", {"enabled": True}, NEW_VERSION), "whitespace"),
        (SaveFlag("with:colon", {"enabled": True}, NEW_VERSION), "created it meanwhile"),
        (SetExperimentStatus("checkout-flow-redesign", "sideways"), "status must be one of"),
        (SetExperimentStatus("nope", "paused"), "does not exist"),
    ]
    for cmd, phrase in cases:
        result = await desk.execute(cmd, None, "alice")
        assert not result.ok and phrase in result.message, (cmd, result.message)
        assert result.message.endswith(".") and "\n" not in result.message
    read_only, _ = desk_with(odd_store(), read_only=True)
    result = await read_only.execute(KillFlag("with:colon", "x"), None, "alice")
    assert not result.ok and result.message == "This room is read-only, so flag with:colon cannot be changed."
    store.set_unavailable("The simulated store is down.")
    result = await desk.execute(KillFlag("with:colon", "x"), None, "alice")
    assert not result.ok and result.message == "The simulated store is down."
    assert desk.health is not None and desk.health.status == "down"


async def test_save_rewrites_only_the_fields_that_changed_and_never_judges_untouched_ones() -> None:
    store = AuditedSimStore(VirtualClock(), SimAudit(), flags={})
    store._flags.put("typed", {})
    store._flag_bytes["typed"] = b'{"enabled":"yes", "percentage":"20","environments":"production","rules":{"a":1}}'
    desk, trail = desk_with(store)
    read = await desk.read_flag("typed")
    assert read.config is not None
    edited = {**read.config, "percentage": 40}
    result = await desk.execute(SaveFlag("typed", edited, read.version), None, "alice")
    assert result.ok, result.message
    assert (await store.get_flag_bytes("typed"))[0] == (
        b'{"enabled":"yes", "percentage":40,"environments":"production","rules":{"a":1}}'
    )
    (event,) = trail.events
    assert event.before == {"percentage": "20"} and event.after == {"percentage": 40}
    # a second editor on the old version loses and is told
    late = await desk.execute(SaveFlag("typed", {**read.config, "enabled": False}, read.version), None, "bob")
    assert not late.ok and late.stale and late.details["current"]["percentage"] == 40


async def test_experiment_status_and_listing_and_samples() -> None:
    store = AuditedSimStore(VirtualClock(), SimAudit(), users_per_second=50)
    desk, trail = desk_with(store)
    preview = await desk.preview(SetExperimentStatus("checkout-flow-redesign", "paused"))
    assert preview.possible and preview.lines == ("status active → paused: the seed stops assigning new users",)
    assert (await desk.execute(SetExperimentStatus("checkout-flow-redesign", "paused"), preview, "a")).ok
    again = await desk.execute(SetExperimentStatus("checkout-flow-redesign", "paused"), None, "a")
    assert not again.ok and "already paused" in again.message
    assert json.loads((await store.get_experiment_bytes("checkout-flow-redesign"))[0])["status"] == "paused"
    flags, experiments = await desk.refresh()
    assert {f.name for f in flags} == {"new-product-design", "ai-recommendations"}
    assert {e.id for e in experiments} == {"checkout-flow-redesign", "product-page-layout"}
    await store.clock.advance(10)  # type: ignore[attr-defined]
    await desk.refresh()
    ids, label = await desk.sample_users(100)
    assert label == "simulated experiment users" and ids[0] == "sim-user-0" and len(ids) == 100
    assert [e.action for e in trail.events] == ["experiment-status"], "a refused no-op is not audited"
