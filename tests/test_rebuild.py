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
from app.control.audit_trail import AuditTrail
from app.control.commands import RebuildCounters
from app.control.engine import Engine
from app.control.jobs import JobBoard
from app.control.store_desk import StoreDesk
from app.factory import RoomOptions, make_app
from app.model import Experiment, Job
from app.room import ShiftroomApp
from app.screens.main import REBUILD_NOTE, REBUILD_NOTE_READ_ONLY, MainScreen
from backends.redis import RedisStore
from backends.sim.store import SEED_EXPERIMENTS, AuditedSimStore, SimAudit
from tests.servers.redis import RedisServer
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
    return json.dumps(
        {
            "timestamp": datetime.now(UTC).replace(tzinfo=None).isoformat(),
            "experiment_id": exp_id,
            "user_id": user_id,
            "event_type": event_type,
            "data": data,
        }
    )


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
                    pipe.lpush(
                        key,
                        seed_event(
                            exp_id, user, "conversion", {"variant": variant, "metric": "purchase", "value": 1.0}
                        ),
                    )
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


def gate_rebuild(
    store: Any, monkeypatch: pytest.MonkeyPatch, at: int, on_gate: Callable[[], None] = lambda: None
) -> asyncio.Event:
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


def desk_on(store: Any, clock: VirtualClock, *, read_only: bool = False) -> tuple[StoreDesk, AuditTrail, JobBoard]:
    """A StoreDesk exactly as the engine builds one."""
    trail = AuditTrail(getattr(store, "audit", None), clock=clock)
    jobs = JobBoard(clock)
    return StoreDesk(store, trail, jobs, clock, read_only, "shiftroom@test#1"), trail, jobs


def job_of(jobs: JobBoard) -> Job:
    (job,) = [j for j in jobs.snapshot() if j.kind == "rebuild"]
    return job


# ---------------------------------------------------------------- the desk


async def test_detects_seed_data_rebuilds_in_batches_and_the_snapshot_shows_the_numbers(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = write_seed_data(redis_server.url)
    clock = VirtualClock()
    store = RedisStore(redis_server.url, clock=clock)
    desk, trail, jobs = desk_on(store, clock)
    seen: list[tuple[int, int | None]] = []
    jobs.on_change = lambda: seen.extend((j.done, j.total) for j in jobs.snapshot() if j.status == "running")
    try:
        # Another experiment tracked through Shiftroom has counters: no rebuild needed.
        await store.put_experiment_raw("checkout-flow-redesign", SEED_EXPERIMENTS["checkout-flow-redesign"], None)
        await store.track_conversion("checkout-flow-redesign", "someone", "purchase")
        _, experiments = await desk.refresh()
        assert shown(experiments) == {v: (0, 0) for v in expected}, "seed data is invisible before"
        needs = {e.id: e.needs_rebuild for e in experiments}
        assert needs == {EXP: True, "checkout-flow-redesign": False}

        original = store.rebuild_counters
        monkeypatch.setattr(store, "rebuild_counters", lambda eid, progress=None: original(eid, progress, batch=100))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        other = asyncio.create_task(ticker())
        preview = await desk.preview(RebuildCounters(EXP))
        assert preview.possible and "not counted yet" in preview.lines[0]
        result = await desk.execute(RebuildCounters(EXP), preview, "oncall@room")
        assert result.ok and "in the background" in result.message
        second = await desk.execute(RebuildCounters(EXP), None, "oncall@room")  # never two at once
        assert not second.ok and "already being rebuilt" in second.message
        job = await jobs.wait(result.details["job"])
        other.cancel()

        assert job.status == "done" and (job.done, job.total) == (USERS, USERS)
        progress = [p for p in seen if p[1]]
        assert len(progress) >= USERS // 100 and progress[-1] == (USERS, USERS)
        assert [d for d, _ in progress] == sorted(d for d, _ in progress)
        assert ticks > len(progress), "the event loop ran other tasks between batches"
        events = USERS + sum(2 if i % 12 == 0 else 1 for i in range(0, USERS, 4))
        expected_message = f"Experiment {EXP}: counters rebuilt from 3 000 event lists ({events:,} events)."
        assert job.message == expected_message.replace(",", " ")

        _, experiments = await desk.refresh()
        assert shown(experiments) == expected and not any(e.needs_rebuild for e in experiments)
        assert await store.needs_rebuild(EXP) is False
        (event,) = [e for e in trail.events if e.action == "counters-rebuilt"]
        assert event.target == f"experiment/{EXP}" and event.actor == "oncall@room"
        assert event.after["event_lists"] == USERS and event.after["events"] == events
        await trail.flush()
        stored = await store.audit.recent(50)
        assert any(e.action == "counters-rebuilt" and e.target == f"experiment/{EXP}" for e in stored)
    finally:
        await jobs.stop()
        await store.aclose()


async def test_read_only_desk_refuses_in_one_sentence_and_writes_nothing(redis_server: RedisServer) -> None:
    write_seed_data(redis_server.url, users=200)
    clock = VirtualClock()
    store = RedisStore(redis_server.url, clock=clock, read_only=True)
    desk, _, jobs = desk_on(store, clock, read_only=True)
    try:
        _, experiments = await desk.refresh()
        assert next(e for e in experiments if e.id == EXP).needs_rebuild, "reading is allowed: it can say so"
        result = await desk.execute(RebuildCounters(EXP), None, "me")
        assert not result.ok and result.message == (
            f"This room is read-only, so experiment {EXP}'s counters cannot be changed. "
            "A writable room must rebuild them."
        )
        assert "\n" not in result.message and jobs.snapshot() == ()
        assert not counters_exist(redis_server.url)
    finally:
        await store.aclose()


async def test_the_simulators_store_has_nothing_to_rebuild() -> None:
    clock = VirtualClock()
    desk, _, jobs = desk_on(AuditedSimStore(clock, SimAudit()), clock)
    result = await desk.execute(RebuildCounters("checkout-flow-redesign"), None, "me")
    assert not result.ok and result.message == (
        "This store keeps experiment checkout-flow-redesign's counters itself, so there is nothing to rebuild."
    )
    assert jobs.snapshot() == ()


async def test_redis_stopped_mid_rebuild_ends_in_one_sentence(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_seed_data(redis_server.url)
    clock = VirtualClock()
    store = RedisStore(redis_server.url, clock=clock)
    desk, trail, jobs = desk_on(store, clock)
    try:
        await desk.refresh()
        gate = gate_rebuild(store, monkeypatch, at=1000)
        result = await desk.execute(RebuildCounters(EXP), None, "me")
        await until(lambda: job_of(jobs).done >= 1000)
        redis_server.stop(kill=True)
        gate.set()
        job = await asyncio.wait_for(jobs.wait(result.details["job"]), 30)
        assert job.status == "failed"
        assert job.message.startswith("Redis at redis://127.0.0.1:") and "cannot be reached" in job.message
        assert "\n" not in job.message and job.message.endswith(".")
        assert job.done >= 1000 and job.total == USERS, "how far it got stays visible"
        (event,) = [e for e in trail.events if e.action == "counters-rebuild-failed"]
        assert event.reason == job.message and event.target == f"experiment/{EXP}"
        assert desk.health is not None and desk.health.status == "down"
    finally:
        await jobs.stop()
        await store.aclose()


# ---------------------------------------------------------------- the room


needs_engine = pytest.mark.skipif(
    not hasattr(Engine, "execute"), reason="the room drives StoreDesk through Engine.execute (typed commands)"
)


def running_job(app: ShiftroomApp) -> Job | None:
    return next((j for j in app.engine.state.jobs if j.kind == "rebuild" and j.status == "running"), None)


async def tick(app: ShiftroomApp, pilot: Any) -> None:
    """One virtual second: the engine's pass publishes what changed (job progress included)."""
    await app.engine.clock.advance(1)
    await pilot.pause()


def room(url: str, *, read_only: bool = False) -> ShiftroomApp:
    app = make_app(
        RoomOptions(scenario="healthy-canary", virtual=True, redis_url=url, actor="oncall@room", read_only=read_only),
        clock=VirtualClock(),
    )
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


@needs_engine
async def test_pressing_r_shows_the_progress_bar_then_the_numbers(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = write_seed_data(redis_server.url)
    app = room(redis_server.url)
    async with app.run_test(size=WIDE) as pilot:
        screen, line = await show_experiments(app, pilot)
        await until(lambda: line.text == REBUILD_NOTE, pause=pilot.pause)
        assert line.has_class("-shown") and not line.has_class("-running")
        assert "experiment-rebuild" in {b.binding.id for b in screen.active_bindings.values()}
        gate = gate_rebuild(app.engine.store, monkeypatch, at=1500)
        await pilot.press("r")
        await until(
            lambda: (running_job(app) or Job(id="", kind="", target="")).done >= 1500 and "/ 3 000" in line.text,
            pause=lambda: tick(app, pilot),
        )
        job = running_job(app)
        assert job is not None
        done = job.done
        assert done < USERS and line.text == f"rebuilding counters {done:,} / 3 000 event lists".replace(",", " ")
        bar = line.query_one("#rebuild-bar")
        assert line.has_class("-running") and bar.display and bar.total == USERS and bar.progress == done
        assert bar.region.width > 20 and bar.region.height == 1, "the bar is on screen"

        # The room is not blocked while the rebuild waits: keys still work, a second rebuild is refused.
        await pilot.press("f")
        assert screen.sequential is False
        await pilot.press("r")
        await until(lambda: any("already being rebuilt" in n.message for n in app._notifications), pause=pilot.pause)

        gate.set()
        await until(lambda: not line.has_class("-running"), pause=lambda: tick(app, pilot))
        await until(lambda: shown(app.engine.state.experiments) == expected, pause=lambda: tick(app, pilot))
        await pilot.pause()
        assert line.text.startswith(f"Experiment {EXP}: counters rebuilt from 3 000 event lists")
        rows = table_text(app)
        for variant, (users, _) in expected.items():
            row = next(r for r in rows.splitlines() if r.startswith(variant))
            assert f"{users:,}" in row
        assert any(n.message.startswith(f"Experiment {EXP}: counters rebuilt") for n in app._notifications)
        assert app.is_running


@needs_engine
async def test_read_only_room_says_a_writable_room_must_rebuild(redis_server: RedisServer) -> None:
    write_seed_data(redis_server.url, users=300)
    app = room(redis_server.url, read_only=True)
    async with app.run_test(size=WIDE) as pilot:
        screen, line = await show_experiments(app, pilot)
        await until(lambda: line.text == REBUILD_NOTE_READ_ONLY, pause=pilot.pause)
        assert "experiment-rebuild" not in {b.binding.id for b in screen.active_bindings.values()}
        await pilot.press("r")  # not bound: nothing happens
        await pilot.pause()
        assert app.engine.state.jobs == ()
        assert not counters_exist(redis_server.url)


@needs_engine
async def test_redis_going_away_mid_rebuild_shows_one_sentence_and_the_room_stays_up(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_seed_data(redis_server.url)
    app = room(redis_server.url)
    async with app.run_test(size=WIDE) as pilot:
        screen, line = await show_experiments(app, pilot)
        gate = gate_rebuild(app.engine.store, monkeypatch, at=1000)
        await pilot.press("r")
        await until(lambda: line.has_class("-running") and "/ 3 000" in line.text, pause=lambda: tick(app, pilot))
        redis_server.stop(kill=True)
        gate.set()
        await until(
            lambda: not line.has_class("-running") and bool(line.text), pause=lambda: tick(app, pilot), timeout=30
        )
        assert line.text.startswith("Redis at redis://127.0.0.1:") and "cannot be reached" in line.text
        assert "\n" not in line.text and line.text.endswith(".")
        assert isinstance(app.query_one(ExperimentDetail), ExperimentDetail)
        await pilot.press("1")
        await pilot.press("3")
        await pilot.pause()
        assert app.is_running and line.text.startswith("Redis at ")


@needs_engine
async def test_leaving_the_room_mid_rebuild_cancels_it_and_replaces_nothing(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_seed_data(redis_server.url, users=1000)
    app = room(redis_server.url)
    async with app.run_test(size=WIDE) as pilot:
        screen, line = await show_experiments(app, pilot)
        gate_rebuild(app.engine.store, monkeypatch, at=1)
        await pilot.press("r")
        await until(lambda: line.has_class("-running") and "/ 1 000" in line.text, pause=lambda: tick(app, pilot))
    assert [j.status for j in app.engine.jobs.snapshot()] == ["cancelled"]
    assert not counters_exist(redis_server.url)
