"""Flag edits, the kill switch and experiment status against the embedded store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.clock import VirtualClock
from app.control.engine import Engine
from app.control.cohorts import experiment_user_ids, kill_impact, parse_user_ids, share
from app.control.store_ops import (
    diff_lines, edit_flag, kill_flag, killed_config, off_everywhere, restore_flag, set_experiment_status,
)
from app.factory import Demo, RoomOptions, make_demo
from app.flags import bucket_histogram, evaluate
from backends.sim.store import SimStore

ENVS = ("production", "staging", "development", "qa", None, "")
USERS = [f"user-{i}" for i in range(3000)] + ["user-1", "user-42", "qa-team", "anonymous", None]


def demo(actor: str = "alice@room", read_only: bool = False) -> Demo:
    opts = RoomOptions(scenario="healthy-canary", seed=7, virtual=True, actor=actor, read_only=read_only)
    return make_demo(opts, clock=VirtualClock())


def second_engine(first: Demo, actor: str) -> Engine:
    """Another room on the same store (as two people on one Redis)."""
    return Engine(clock=first.clock, cluster=first.world.cluster, metrics=first.world.metrics, targets=(),
                  store=first.engine.store, actor=actor)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def events(engine: Engine, action: str) -> list:
    return [e for e in engine.trail.events if e.action == action]


# ---------------------------------------------------------------- edit


def test_edit_writes_records_and_keeps_unknown_fields() -> None:
    d = demo()
    store: SimStore = d.engine.store  # type: ignore[assignment]

    async def go() -> None:
        raw, version = await store.get_flag_raw("new-product-design")
        raw["owner"] = "team-web"  # a field Shiftroom does not know
        await store.put_flag_raw("new-product-design", raw, version)
        raw, version = await store.get_flag_raw("new-product-design")
        new = {**raw, "percentage": 50}
        result = await edit_flag(d.engine, "new-product-design", new, version, base=raw, reason="ramp up")
        assert result.ok, result.message
        assert "percentage 25 → 50" in result.message
        stored, _ = await store.get_flag_raw("new-product-design")
        assert stored["percentage"] == 50 and stored["owner"] == "team-web"
        (event,) = events(d.engine, "flag-edit")
        assert event.actor == "alice@room" and event.target == "flag/new-product-design"
        assert event.before["percentage"] == 25 and event.after["percentage"] == 50 and event.reason == "ramp up"
        assert any(f.name == "new-product-design" and f.percentage == 50 for f in d.engine.state.flags)

    run(go())


def test_edit_validates_name_and_config_one_sentence_each() -> None:
    d = demo()

    async def go() -> None:
        bad = {"enabled": "yes", "percentage": 150, "environments": "production"}
        result = await edit_flag(d.engine, "bad:name", bad, "0")
        assert not result.ok
        assert set(result.errors) == {"name", "enabled", "percentage", "environments"}
        assert all(r.endswith(".") and r.count(". ") == 0 for r in result.errors.values())
        raw, _ = await d.engine.store.get_flag_raw("bad:name")
        assert raw is None and not events(d.engine, "flag-create")

    run(go())


def test_create_new_flag_and_refuse_to_create_twice() -> None:
    d = demo()

    async def go() -> None:
        ok = await edit_flag(d.engine, "dark-mode", {"enabled": True}, "0")
        assert ok.ok and "created" in ok.message
        again = await edit_flag(d.engine, "dark-mode", {"enabled": False}, "0")
        assert not again.ok and again.conflict and "created it meanwhile" in again.message
        raw, _ = await d.engine.store.get_flag_raw("dark-mode")
        assert raw == {"enabled": True}

    run(go())


def test_conflict_between_two_editors_exactly_one_wins() -> None:
    d = demo("alice@room")
    bob = second_engine(d, "bob@room")

    async def go() -> None:
        base, version = await d.engine.store.get_flag_raw("ai-recommendations")
        alice_edit = {**base, "percentage": 30}
        bob_edit = {**base, "enabled": True, "userWhitelist": ["user-1"]}
        results = await asyncio.gather(
            edit_flag(d.engine, "ai-recommendations", alice_edit, version, base=base),
            edit_flag(bob, "ai-recommendations", bob_edit, version, base=base),
        )
        assert sorted(r.ok for r in results) == [False, True]
        winner, loser = (results[0], results[1]) if results[0].ok else (results[1], results[0])
        stored, now_version = await d.engine.store.get_flag_raw("ai-recommendations")
        assert stored == winner.current
        assert loser.conflict and loser.current == stored and loser.version == now_version
        # the loser is told what the other change was, in a few words
        assert "percentage 10 → 30" in loser.other_change or "enabled false → true" in loser.other_change
        assert loser.other_change in loser.message

    run(go())


def test_read_only_refused_in_one_sentence() -> None:
    d = demo(read_only=True)

    async def go() -> None:
        raw, version = await d.engine.store.get_flag_raw("new-product-design")
        result = await edit_flag(d.engine, "new-product-design", {**raw, "enabled": False}, version)
        assert not result.ok and result.message == "This room is read-only, so flag new-product-design was not changed."
        kill = await kill_flag(d.engine, "new-product-design", "incident")
        assert not kill.ok and "read-only" in kill.message
        assert (await d.engine.store.get_flag_raw("new-product-design"))[0] == raw

    run(go())


def test_store_unavailable_refused_and_nothing_written() -> None:
    d = demo()
    store: SimStore = d.engine.store  # type: ignore[assignment]

    async def go() -> None:
        raw, version = await store.get_flag_raw("new-product-design")
        store.set_unavailable("Redis at 10.0.0.5:6379 refused the connection.")
        result = await edit_flag(d.engine, "new-product-design", {**raw, "enabled": False}, version)
        kill = await kill_flag(d.engine, "new-product-design", "incident")
        status = await set_experiment_status(d.engine, "checkout-flow-redesign", "paused")
        for r in (result, kill, status):
            assert not r.ok and r.message == "Redis at 10.0.0.5:6379 refused the connection."
        store.set_unavailable(None)
        assert await store.get_flag_raw("new-product-design") == (raw, version)
        assert (await store.get_experiment_raw("checkout-flow-redesign"))[0]["status"] == "active"
        assert not events(d.engine, "flag-edit") and not events(d.engine, "flag-kill")
        assert len(events(d.engine, "flag-edit-refused")) == 1

    run(go())


# ---------------------------------------------------------------- kill switch


@pytest.mark.parametrize("name", ["new-product-design", "ai-recommendations"])
def test_kill_turns_the_flag_off_everywhere_and_keeps_unknown_fields(name: str) -> None:
    d = demo("oncall@room")
    store: SimStore = d.engine.store  # type: ignore[assignment]

    async def go() -> None:
        raw, version = await store.get_flag_raw(name)
        raw["owner"] = "team-web"
        await store.put_flag_raw(name, raw, version)
        served_before = sum(evaluate(raw, u, e, name=name) for u in USERS for e in ENVS)
        assert served_before > 0  # the test would prove nothing on a flag already off
        result = await kill_flag(d.engine, name, "checkout errors after deploy")
        assert result.ok, result.message
        after, _ = await store.get_flag_raw(name)
        assert not any(evaluate(after, u, e, name=name) for u in USERS for e in ENVS)
        assert after["owner"] == "team-web" and after["public"] == raw["public"]
        killed = after["killed"]
        assert killed["by"] == "oncall@room" and killed["reason"] == "checkout errors after deploy"
        assert killed["previous"]["percentage"] == raw["percentage"]
        assert killed["previous"]["enabled"] == raw["enabled"]
        (event,) = events(d.engine, "flag-kill")
        assert event.reason == "checkout errors after deploy" and event.before == raw and event.after == after
        # and it can be undone
        back = await restore_flag(d.engine, name, "fixed")
        assert back.ok, back.message
        restored, _ = await store.get_flag_raw(name)
        assert restored == raw

    run(go())


def test_kill_needs_a_reason_and_an_existing_flag() -> None:
    d = demo()

    async def go() -> None:
        assert not (await kill_flag(d.engine, "new-product-design", "  ")).ok
        missing = await kill_flag(d.engine, "no-such-flag", "incident")
        assert not missing.ok and "does not exist" in missing.message

    run(go())


def test_killed_config_handles_malformed_environments_and_whitelist_first() -> None:
    # A whitelisted user gets true before `enabled` is read: emptying it matters.
    before = {"enabled": False, "userWhitelist": ["vip"], "environments": 5}
    after = killed_config(before, at=0.0, by="x", reason="r")
    assert after["environments"] == [] and after["userWhitelist"] == []
    assert off_everywhere(after, "f", ["vip", "user-1", None]) is None
    assert off_everywhere({"enabled": False, "userWhitelist": ["vip"]}, "f", ["vip"]) is not None
    # killing twice keeps the first previous values
    again = killed_config(after, at=1.0, by="y", reason="again")
    assert again["killed"]["previous"] == after["killed"]["previous"]


# ---------------------------------------------------------------- experiments


def test_set_experiment_status_writes_and_audits() -> None:
    d = demo()

    async def go() -> None:
        result = await set_experiment_status(d.engine, "checkout-flow-redesign", "paused", "holiday freeze")
        assert result.ok and "active → paused" in result.message
        raw, _ = await d.engine.store.get_experiment_raw("checkout-flow-redesign")
        assert raw["status"] == "paused" and raw["traffic_split"] == {"control": 50, "variant_a": 50}
        (event,) = events(d.engine, "experiment-status")
        assert event.target == "experiment/checkout-flow-redesign" and event.after["status"] == "paused"
        assert not (await set_experiment_status(d.engine, "checkout-flow-redesign", "running-ish")).ok
        assert not (await set_experiment_status(d.engine, "nope", "paused")).ok

    run(go())


def test_sim_store_fills_elapsed_days() -> None:
    d = demo()

    async def go() -> None:
        store: SimStore = d.engine.store  # type: ignore[assignment]
        assert all(e.elapsed_days == 0 for e in await store.list_experiments())
        await d.clock.advance(10)  # type: ignore[attr-defined]
        await store.list_experiments()  # the first users arrive
        await d.clock.advance(2 * 86400)  # type: ignore[attr-defined]
        exps = {e.id: e for e in await store.list_experiments()}
        assert 2.0 < exps["checkout-flow-redesign"].elapsed_days < 2.001

    run(go())


# ---------------------------------------------------------------- helpers


async def test_helpers() -> None:
    assert diff_lines({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": [1]}) == ["b: 2 → 3", "+ c: [1]"]
    assert diff_lines({"a": 1}, {}) == ["- a (was 1)"]
    assert parse_user_ids("a, b\nc\td") == ["a", "b", "c", "d"]
    assert parse_user_ids('["x", "y"]') == ["x", "y"]
    hist = bucket_histogram(10_000)
    assert abs(share(hist, 25) - 0.25) < 0.02 and share(hist, 0) == 0 and share(hist, 100) == 1
    d = demo()
    ids, source = await experiment_user_ids(d.engine)
    assert ids[0] == "user-0" and len(ids) == 10_000 and source == "user-0..user-9999"
    before = {"environments": ["production"], "percentage": 50, "userWhitelist": ["vip"]}
    after = killed_config(before, at=0.0, by="x", reason="r")
    impact = kill_impact(before, after, "f", ids[:1000], "sample")
    assert impact[0].startswith("production: ") and impact[0].endswith("→ 0")
    assert 400 < int(impact[0].split(": ")[1].split(" of")[0].replace(",", "")) < 600
    assert impact[1] == "whitelisted ids lose it: vip"
