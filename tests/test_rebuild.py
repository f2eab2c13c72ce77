"""Counter rebuilds: the seed's own A/B data becomes visible in the room, without blocking Redis or the room."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from app.clock import VirtualClock
from app.control.rebuild import RebuildCoordinator, RebuildStatus
from app.factory import RoomOptions, make_app, make_demo
from app.model import Experiment
from app.room import ShiftroomApp
from app.screens.main import REBUILD_NOTE, REBUILD_NOTE_READ_ONLY, MainScreen
from backends.redis_rebuild import needs_rebuild
from backends.sim.store import SEED_EXPERIMENTS
from tests.servers.redis import RedisServer, redis_server  # noqa: F401 - fixture
from widgets.experiment_detail import ExperimentDetail
from widgets.experiments_list import ExperimentsList
from widgets.rebuild_progress import RebuildProgress

pytestmark = pytest.mark.integration

EXP = "product-page-layout"
USERS = 3000
WIDE = (160, 45)


# ---------------------------------------------------------------- the seed's data, as its ABTestManager writes it


def seed_variant(config: dict[str, Any], user_id: str) -> str:
    """The seed's `_assign_variant`: md5 of "<name>:<user>" mod 100 against the cumulative split."""
    value = int(hashlib.md5(f"{config['name']}:{user_id}".encode()).hexdigest(), 16) % 100
    cumulative = 0
    for variant, percentage in config["traffic_split"].items():
        cumulative += percentage
        if value < cumulative:
            return variant
    return "control"


def seed_event(exp_id: str, user_id: str, event_type: str, data: dict[str, Any]) -> str:
    """The seed's `_track_event` document (naive UTC isoformat, `json.dumps` defaults)."""
    return json.dumps({"timestamp": datetime.now(UTC).replace(tzinfo=None).isoformat(),
                       "experiment_id": exp_id, "user_id": user_id, "event_type": event_type, "data": data})


def write_seed_data(url: str, exp_id: str = EXP, users: int = USERS) -> dict[str, tuple[int, int]]:
    """`experiment:<id>`, `assignment:<exp>:<user>` and `events:<exp>:<user>` for `users` users, no counters.

    Every 4th user converts ("purchase"), every 12th twice (still one
    converter). Returns (users, converters) per variant, counted here.
    """
    config = SEED_EXPERIMENTS[exp_id]
    client = redis.Redis.from_url(url)
    expected: dict[str, list[int]] = {v: [0, 0] for v in config["traffic_split"]}
    try:
        client.set(f"experiment:{exp_id}", json.dumps(config))
        pipe = client.pipeline(transaction=False)
        for i in range(users):
            user = f"user-{i}"
            variant = seed_variant(config, user)
            pipe.set(f"assignment:{exp_id}:{user}", variant, ex=timedelta(days=30))  # the seed's SETEX
            key = f"events:{exp_id}:{user}"
            pipe.lpush(key, seed_event(exp_id, user, "assigned", {"variant": variant}))
            expected[variant][0] += 1
            if i % 4 == 0:
                conversions = 2 if i % 12 == 0 else 1
                for _ in range(conversions):
                    pipe.lpush(key, seed_event(exp_id, user, "conversion",
                                               {"variant": variant, "metric": "purchase", "value": 1.0}))
                expected[variant][1] += 1
            pipe.expire(key, timedelta(days=90))
            if i % 500 == 499:
                pipe.execute()
        pipe.execute()
    finally:
        client.close()
    return {v: (u, c) for v, (u, c) in expected.items()}


def shown(experiments: tuple[Experiment, ...], exp_id: str = EXP) -> dict[str, tuple[int, int]]:
    experiment = next(e for e in experiments if e.id == exp_id)
    return {v.name: (v.users, v.converters) for v in experiment.variants}


def counters_exist(url: str, exp_id: str = EXP) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return bool(client.exists(f"shiftroom:exp:{exp_id}:counters"))
    finally:
        client.close()


def gate_rebuild(store: Any, monkeypatch: pytest.MonkeyPatch, at: int,
                 on_gate: Callable[[], None] = lambda: None) -> asyncio.Event:
    """Hold the rebuild once `at` event lists are read, until the returned event is set."""
    gate = asyncio.Event()
    original = store.rebuild_counters

    async def gated(exp_id: str, progress: Any = None, *, batch: int = 500) -> Any:
        async def held(done: int, total: int) -> None:
            progress(done, total)
            if done >= at and not gate.is_set():
                on_gate()
                await gate.wait()

        return await original(exp_id, held, batch=batch)

    monkeypatch.setattr(store, "rebuild_counters", gated)
    return gate


async def until(predicate: Callable[[], bool], timeout: float = 10.0, pause: Callable[[], Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await (pause() if pause else asyncio.sleep(0.01))
    raise AssertionError("condition not reached in time")


def demo(url: str, *, read_only: bool = False) -> Any:
    return make_demo(RoomOptions(scenario="healthy-canary", virtual=True, redis_url=url, actor="oncall@room",
                                 read_only=read_only))


async def close(engine: Any) -> None:
    await engine.stop()
    for backend in (engine.store, engine.audit):
        await backend.aclose()


# ---------------------------------------------------------------- the coordinator


async def test_detects_seed_data_rebuilds_in_batches_and_the_engine_shows_the_numbers(
        redis_server: RedisServer) -> None:  # noqa: F811
    expected = write_seed_data(redis_server.url)
    d = demo(redis_server.url)
    engine = d.engine
    try:
        # Another experiment tracked through Shiftroom has counters: no rebuild needed.
        seed = SEED_EXPERIMENTS["checkout-flow-redesign"]
        await engine.store.put_experiment_raw("checkout-flow-redesign", seed, None)
        await engine.store.track_conversion("checkout-flow-redesign", "someone", "purchase")
        await engine.refresh_store()
        assert shown(engine.state.experiments) == {v: (0, 0) for v in expected}, "seed data is invisible before"

        rebuilds = RebuildCoordinator(engine, batch=100)
        assert rebuilds.supported and not rebuilds.read_only
        assert rebuilds.needs(EXP) is None
        assert await rebuilds.check(EXP) is True and rebuilds.needs(EXP) is True
        assert await rebuilds.check("checkout-flow-redesign") is False
        assert await rebuilds.check("no-such-experiment") is False

        seen: list[RebuildStatus] = []
        rebuilds.subscribe(seen.append)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        other = asyncio.create_task(ticker())
        assert rebuilds.start(EXP) is None
        assert rebuilds.running and rebuilds.status.running
        second = rebuilds.start("checkout-flow-redesign")  # never two at once
        assert second == f"Experiment {EXP}'s counters are still being rebuilt; wait until that finishes."
        status = await rebuilds.wait()
        other.cancel()

        assert status.error == "" and not status.running and not rebuilds.running
        assert (status.done, status.total) == (USERS, USERS)
        progress = [(s.done, s.total) for s in seen if s.running and s.total]
        assert len(progress) >= USERS // 100 and progress[-1] == (USERS, USERS)
        assert [d for d, _ in progress] == sorted(d for d, _ in progress)
        assert ticks > len(progress), "the event loop ran other tasks between batches"
        events = USERS + sum(2 if i % 12 == 0 else 1 for i in range(0, USERS, 4))
        rebuilt = f"Experiment {EXP}: counters rebuilt from 3 000 event lists ({events:,} events)."
        assert status.message == rebuilt.replace(",", " ")

        # The store was re-read: the engine's experiments carry the seed's users and converters.
        assert shown(engine.state.experiments) == expected
        assert sum(u for u, _ in expected.values()) == USERS
        assert rebuilds.needs(EXP) is False
        assert await needs_rebuild(engine.store, EXP) is False
        (event,) = [e for e in engine.state.events if e.action == "counters-rebuilt"]
        assert event.target == f"experiment/{EXP}" and event.actor == "oncall@room"
        assert event.after["event_lists"] == USERS and event.after["events"] == events
        await engine.trail.flush()  # the audit backend is written off the pass, in order
        stored = await engine.audit.recent(50)
        assert any(e.action == "counters-rebuilt" and e.target == f"experiment/{EXP}" for e in stored)
    finally:
        await close(engine)


async def test_read_only_room_refuses_in_one_sentence_and_writes_nothing(redis_server: RedisServer) -> None:  # noqa: F811
    write_seed_data(redis_server.url, users=200)
    d = demo(redis_server.url, read_only=True)
    try:
        rebuilds = RebuildCoordinator(d.engine)
        assert rebuilds.read_only
        assert await rebuilds.check(EXP) is True, "reading is allowed: the room can say a rebuild is needed"
        refusal = rebuilds.start(EXP)
        assert refusal == (f"This room is read-only, so experiment {EXP}'s counters were not rebuilt; "
                           "a writable room must rebuild them.")
        assert "\n" not in refusal and refusal.count(". ") == 0
        assert not rebuilds.running and rebuilds.status == RebuildStatus()
        final = await rebuilds.rebuild(EXP)
        assert final.error == refusal
        assert not counters_exist(redis_server.url)
    finally:
        await close(d.engine)


async def test_the_simulators_store_has_nothing_to_rebuild() -> None:
    d = make_demo(RoomOptions(scenario="healthy-canary", virtual=True, actor="oncall@room"))
    rebuilds = RebuildCoordinator(d.engine)
    assert not rebuilds.supported
    assert await rebuilds.check("checkout-flow-redesign") is False
    assert rebuilds.start("checkout-flow-redesign") == (
        "This store keeps experiment checkout-flow-redesign's counters itself, so there is nothing to rebuild.")
    assert not rebuilds.running and rebuilds.status == RebuildStatus()


async def test_redis_stopped_mid_rebuild_ends_in_one_sentence(redis_server: RedisServer,  # noqa: F811
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    write_seed_data(redis_server.url)
    d = demo(redis_server.url)
    try:
        rebuilds = RebuildCoordinator(d.engine, batch=200)
        assert await rebuilds.check(EXP) is True
        gate = gate_rebuild(d.engine.store, monkeypatch, at=1000)
        assert rebuilds.start(EXP) is None
        await until(lambda: rebuilds.status.done >= 1000)
        redis_server.stop(kill=True)
        gate.set()
        status = await asyncio.wait_for(rebuilds.wait(), 30)
        assert not status.running and status.message == ""
        assert status.error.startswith("Redis at redis://127.0.0.1:") and "cannot be reached" in status.error
        assert "\n" not in status.error and status.error.endswith(".")
        assert status.done >= 1000 and status.total == USERS, "how far it got stays visible"
        (event,) = [e for e in d.engine.state.events if e.action == "counters-rebuild-failed"]
        assert event.reason == status.error and event.target == f"experiment/{EXP}"
        assert rebuilds.needs(EXP) is True, "still needed: nothing was replaced"
    finally:
        await close(d.engine)


# ---------------------------------------------------------------- the room


def room(url: str, *, read_only: bool = False) -> ShiftroomApp:
    app = make_app(RoomOptions(scenario="healthy-canary", virtual=True, redis_url=url, actor="oncall@room",
                               read_only=read_only), clock=VirtualClock())
    app.animation_level = "none"
    return app


async def show_experiments(app: ShiftroomApp, pilot: Any) -> tuple[MainScreen, RebuildProgress]:
    await until(lambda: any(e.id == EXP for e in app.engine.state.experiments), pause=pilot.pause)
    await pilot.press("3")
    await until(lambda: app.query_one(ExperimentsList).selected_experiment == EXP, pause=pilot.pause)
    screen = app.main_screen
    assert screen is not None
    line = app.query_one(RebuildProgress)
    return screen, line


def table_text(app: ShiftroomApp) -> str:
    table = app.query_one("#experiment-table")
    return getattr(table.content, "plain", str(table.content))


async def test_pressing_r_shows_the_progress_bar_then_the_numbers(redis_server: RedisServer,  # noqa: F811
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    expected = write_seed_data(redis_server.url)
    app = room(redis_server.url)
    async with app.run_test(size=WIDE) as pilot:
        screen, line = await show_experiments(app, pilot)
        await until(lambda: line.text == REBUILD_NOTE, pause=pilot.pause)
        assert line.has_class("-shown") and not line.has_class("-running")
        assert "experiment-rebuild" in {b.binding.id for b in screen.active_bindings.values()}
        gate = gate_rebuild(app.engine.store, monkeypatch, at=1500)
        await pilot.press("r")
        rebuilds = screen.rebuilds
        assert rebuilds is not None
        await until(lambda: rebuilds.status.done >= 1500 and "/ 3 000" in line.text, pause=pilot.pause)
        done = rebuilds.status.done
        assert done < USERS and line.text == f"rebuilding counters {done:,} / 3 000 event lists".replace(",", " ")
        bar = line.query_one("#rebuild-bar")
        assert line.has_class("-running") and bar.display and bar.total == USERS and bar.progress == done
        assert bar.region.width > 20 and bar.region.height == 1, "the bar is on screen"

        # The room is not blocked while the rebuild waits: keys still work, a second rebuild is refused.
        await pilot.press("f")
        assert screen.sequential is False
        await pilot.press("r")
        await until(lambda: any("still being rebuilt" in n.message for n in app._notifications), pause=pilot.pause)

        gate.set()
        await until(lambda: not line.has_class("-running"), pause=pilot.pause)
        await until(lambda: shown(app.engine.state.experiments) == expected, pause=pilot.pause)
        await pilot.pause()
        assert line.text.startswith(f"Experiment {EXP}: counters rebuilt from 3 000 event lists")
        rows = table_text(app)
        for variant, (users, _) in expected.items():
            row = next(r for r in rows.splitlines() if r.startswith(variant))
            assert f"{users:,}" in row
        assert any(n.message.startswith(f"Experiment {EXP}: counters rebuilt") for n in app._notifications)
        assert app.is_running


async def test_read_only_room_says_a_writable_room_must_rebuild(redis_server: RedisServer) -> None:  # noqa: F811
    write_seed_data(redis_server.url, users=300)
    app = room(redis_server.url, read_only=True)
    async with app.run_test(size=WIDE) as pilot:
        screen, line = await show_experiments(app, pilot)
        await until(lambda: line.text == REBUILD_NOTE_READ_ONLY, pause=pilot.pause)
        assert "experiment-rebuild" not in {b.binding.id for b in screen.active_bindings.values()}
        await pilot.press("r")  # not bound: nothing happens
        await pilot.pause()
        assert screen.rebuilds is not None and screen.rebuilds.status == RebuildStatus()
        assert not counters_exist(redis_server.url)


async def test_redis_going_away_mid_rebuild_shows_one_sentence_and_the_room_stays_up(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    write_seed_data(redis_server.url)
    app = room(redis_server.url)
    async with app.run_test(size=WIDE) as pilot:
        screen, line = await show_experiments(app, pilot)
        gate = gate_rebuild(app.engine.store, monkeypatch, at=1000)
        await pilot.press("r")
        await until(lambda: line.has_class("-running") and "/ 3 000" in line.text, pause=pilot.pause)
        redis_server.stop(kill=True)
        gate.set()
        await until(lambda: not line.has_class("-running") and line.text, pause=pilot.pause, timeout=30)
        assert line.text.startswith("Redis at redis://127.0.0.1:") and "cannot be reached" in line.text
        assert "\n" not in line.text and line.text.endswith(".")
        assert isinstance(app.query_one(ExperimentDetail), ExperimentDetail)
        await pilot.press("1")
        await pilot.press("3")
        await pilot.pause()
        assert app.is_running and line.text.startswith("Redis at ")


async def test_leaving_the_room_mid_rebuild_cancels_it_and_replaces_nothing(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    write_seed_data(redis_server.url, users=1000)
    app = room(redis_server.url)
    async with app.run_test(size=WIDE) as pilot:
        screen, line = await show_experiments(app, pilot)
        gate_rebuild(app.engine.store, monkeypatch, at=1)
        await pilot.press("r")
        await until(lambda: line.has_class("-running") and "/ 1 000" in line.text, pause=pilot.pause)
        rebuilds = screen.rebuilds
    assert rebuilds is not None and not rebuilds.running
    assert "cancelled" in rebuilds.status.error
    assert not counters_exist(redis_server.url)
