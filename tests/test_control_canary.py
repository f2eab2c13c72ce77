"""Canary analysis on the virtual clock: every transition the room can show."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.control.commands import RolloutCommand, Verb
from app.model import Phase
from tests.control_world import CANARY, actions, demo, rollout, run_until, t

HEALTHY = """
    name: t-healthy
    duration: 900
    events:
      - at: 10
        release: {target: microservices-canary, image: "microservices/api:1.5.0"}
"""

BAD = """
    name: t-bad
    duration: 900
    behaviour:
      "microservices/api:1.5.0": {success_rate: 80}
    events:
      - at: 10
        release: {target: microservices-canary, image: "microservices/api:1.5.0"}
"""


def phase(d, key=CANARY) -> Phase:
    return rollout(d, key).phase


@pytest.fixture
async def healthy(tmp_path: Path):
    d = demo(tmp_path, HEALTHY)
    await d.engine.start()
    yield d
    await d.engine.stop()


@pytest.fixture
async def bad(tmp_path: Path):
    d = demo(tmp_path, BAD)
    await d.engine.start()
    yield d
    await d.engine.stop()


async def test_healthy_canary_walks_every_step_then_promotes(healthy) -> None:
    d = healthy
    await run_until(d, lambda d: phase(d) is Phase.SUCCEEDED)
    steps = [a for a in d.engine.state.events if a.target == CANARY and a.action == "step"]
    assert [e.after["weights"] for e in steps] == ["90/10", "80/20", "70/30", "60/40", "50/50"]
    gaps = [round(b.t - a.t) for a, b in zip(steps, steps[1:], strict=False)]
    assert gaps == [30, 30, 30, 30], "one step per analysis interval"
    r = rollout(d, CANARY)
    assert r.actual.canary == 0 and r.stable_image == "microservices/api:1.5.0"
    canary = await d.world.cluster.get_deployment("microservices", "microservices")
    assert canary.replicas == 0


async def test_bad_canary_rolls_back_in_the_tick_of_the_threshold_th_failure(bad) -> None:
    d = bad
    await run_until(d, lambda d: phase(d) is Phase.FAILED)
    acts = actions(d)
    fails = [s for s, a in acts if a == "check-failed"]
    rollback = [s for s, a in acts if a == "rollback"]
    assert len(fails) == 4 and len(rollback) == 1, acts
    assert rollback[0] - fails[-1] == 30, "the 5th failure and the rollback are the same tick"
    assert fails == [fails[0] + 30 * i for i in range(4)]
    r = rollout(d, CANARY)
    assert r.actual.canary == 0 and r.failed_checks == 5 and "failed checks 5/5" in r.message
    assert r.stable_image == "microservices/api:1.4.0"
    steps = [e.after["weights"] for e in d.engine.state.events if e.action == "step"]
    assert steps == ["90/10"], "only the first step, which routes the traffic to judge, and no more"


async def test_no_data_counts_as_a_failure_and_never_promotes(tmp_path: Path) -> None:
    d = demo(
        tmp_path,
        HEALTHY
        + """
      - at: 20
        metrics: down
    """,
    )
    await d.engine.start()
    try:
        await run_until(d, lambda d: phase(d) is Phase.FAILED, limit=400)
        acts = actions(d)
        assert not any(a == "promote" for _, a in acts), acts
        assert rollout(d, CANARY).actual.canary == 0
        r = rollout(d, CANARY)
        assert all(c.value is None for c in r.checks) and "no data" in r.message
        health = {h.name: h.status.value for h in d.engine.state.health}
        assert health["metrics"] == "down"
    finally:
        await d.engine.stop()


async def test_metrics_recover_by_themselves(tmp_path: Path) -> None:
    d = demo(
        tmp_path,
        HEALTHY
        + """
      - at: 60
        metrics: down
      - at: 100
        metrics: up
    """,
    )
    await d.engine.start()
    try:
        await run_until(d, lambda d: phase(d) is Phase.SUCCEEDED)
        r = rollout(d, CANARY)
        assert r.failed_checks == 1, "the one tick inside the outage counted, nothing else"
        health = {h.name: h.status.value for h in d.engine.state.health}
        assert health["metrics"] == "up"
    finally:
        await d.engine.stop()


async def test_pause_holds_the_weight_and_resume_continues(healthy) -> None:
    d = healthy
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 20)
    result = await d.engine.execute(RolloutCommand(Verb.PAUSE, CANARY))
    assert result.ok and rollout(d, CANARY).paused
    await d.clock.run_for(300)
    r = rollout(d, CANARY)
    assert r.actual.canary == 20 and r.phase is Phase.PROGRESSING
    await d.engine.execute(RolloutCommand(Verb.RESUME, CANARY))
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 30, limit=31)


async def test_promote_while_paused_promotes(healthy) -> None:
    d = healthy
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 10)
    await d.engine.execute(RolloutCommand(Verb.PAUSE, CANARY))
    preview = await d.engine.preview(RolloutCommand(Verb.PROMOTE, CANARY))
    assert preview.destructive and any("1.5.0" in line for line in preview.lines)
    result = await d.engine.execute(RolloutCommand(Verb.PROMOTE, CANARY))
    assert result.ok
    await run_until(d, lambda d: phase(d) is Phase.SUCCEEDED, limit=60)
    assert rollout(d, CANARY).stable_image == "microservices/api:1.5.0"
    promote = [e for e in d.engine.state.events if e.action == "promote"]
    assert promote[-1].actor == "alice@desk"


async def test_abort_during_promotion_restores_the_stable_image(healthy) -> None:
    d = healthy
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 10)
    await d.engine.execute(RolloutCommand(Verb.PROMOTE, CANARY))
    assert phase(d) is Phase.PROMOTING
    preview = await d.engine.preview(RolloutCommand(Verb.ABORT, CANARY))
    assert "primary image microservices/api:1.5.0 → microservices/api:1.4.0" in preview.lines
    assert (await d.engine.execute(RolloutCommand(Verb.ABORT, CANARY))).ok
    await d.clock.run_for(30)
    r = rollout(d, CANARY)
    assert r.phase is Phase.FAILED and r.actual.canary == 0
    primary = await d.world.cluster.get_deployment("microservices", "microservices-primary")
    assert primary.image == "microservices/api:1.4.0"


async def test_manual_mode_waits_for_a_step(healthy) -> None:
    d = healthy
    await d.engine.execute(RolloutCommand(Verb.MANUAL, CANARY))
    assert not rollout(d, CANARY).auto
    await d.clock.run_for(200)
    r = rollout(d, CANARY)
    assert r.phase is Phase.PROGRESSING and r.actual.canary == 0 and "manual" in r.message
    await d.engine.execute(RolloutCommand(Verb.STEP, CANARY))
    assert rollout(d, CANARY).actual.canary == 10


async def test_restart_resumes_the_same_step_without_stepping_twice(tmp_path: Path) -> None:
    d = demo(tmp_path, HEALTHY)
    await d.engine.start()
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 20)
    stepped_at = t(d)
    await d.engine.stop()  # the room goes away (lease released), the world keeps running
    world_task = d.world.run

    from app.control.engine import Engine

    second = Engine(
        clock=d.clock,
        cluster=d.world.cluster,
        metrics=d.world.metrics,
        targets=d.world.targets,
        actor="bob@laptop",
        background=(world_task,),
    )
    await second.start()
    try:
        await d.clock.run_for(5)
        r = second.state.rollout(CANARY)
        assert r is not None and r.actual.canary == 20 and r.step == 2, "resumed at the same step"
        assert [e for e in second.state.events if e.action == "step"] == [], "no step right after a restart"
        while second.state.rollout(CANARY).actual.canary == 20:
            await d.clock.advance(1)
        assert round(t(d) - stepped_at) == 30, "the interval is kept across the restart"
    finally:
        await second.stop()


async def test_two_engines_one_driver(tmp_path: Path) -> None:
    d = demo(tmp_path, HEALTHY)
    from app.control.engine import Engine

    other = Engine(
        clock=d.clock, cluster=d.world.cluster, metrics=d.world.metrics, targets=d.world.targets, actor="bob@laptop"
    )
    await d.engine.start()
    await other.start()
    try:
        await run_until(d, lambda d: phase(d) is Phase.SUCCEEDED)
        steps = [e for e in d.engine.state.events + other.state.events if e.action == "step"]
        assert len(steps) == 5, "each step decided exactly once"
        drivers = {rollout(d, CANARY).driver, other.state.rollout(CANARY).driver}
        assert len(drivers) == 1 and drivers.pop() == d.engine.identity
        refused = await other.execute(RolloutCommand(Verb.ABORT, CANARY))
        assert not refused.ok and "hands-off" in refused.message
        await d.clock.advance(1)  # the watcher sees the driver's annotation through its watch, within a pass
        await other.idle()
        assert other.state.rollout(CANARY).phase is Phase.SUCCEEDED, "the watcher shows the driver's state"
    finally:
        await other.stop()
        await d.engine.stop()


async def test_read_only_room_changes_nothing(tmp_path: Path) -> None:
    d = demo(tmp_path, HEALTHY, read_only=True)
    await d.engine.start()
    try:
        await d.clock.run_for(120)
        r = rollout(d, CANARY)
        # The simulated world's own controller drives the release (as Flagger drives a cluster a read-only
        # room watches); the room holds no lease and its own writes are refused.
        assert d.autopilot is not None and r.phase is Phase.PROGRESSING
        held = {key[1]: lease.holder for key, lease in d.world.leases.items() if lease.holder}
        assert held.get(f"shiftroom-{CANARY.split('/')[-1]}", "").startswith("sim-controller")  # driving
        assert all(holder.startswith("sim-controller") for holder in held.values())  # idle ones: none held
        result = await d.engine.execute(RolloutCommand(Verb.PROMOTE, CANARY))
        assert not result.ok and "read-only" in result.message
    finally:
        await d.engine.stop()


async def test_a_room_opened_mid_release_shows_history_at_once(tmp_path: Path) -> None:
    import asyncio

    d = demo(tmp_path, "name: quiet\nduration: 600\n")  # no release: the primary serves everything
    world_task = asyncio.create_task(d.world.run())
    await d.clock.run_for(240)  # traffic flows, nobody watches
    opened = d.clock.now()
    await d.engine.run_pass()
    world_task.cancel()
    series = {s.name: s for s in d.engine.state.series_for(CANARY)}
    assert set(series) == {"request-success-rate", "request-duration", "error-rate"}
    sr = series["request-success-rate"]
    older = [v for t, v in zip(sr.times, sr.values, strict=True) if t < opened]
    assert len(older) >= 40 and all(v is not None and v > 99 for v in older[-10:])


async def test_an_unreadable_state_annotation_is_ignored_with_a_sentence(tmp_path: Path) -> None:
    d = demo(tmp_path, HEALTHY)
    await d.world.cluster.patch_annotations(
        "Deployment", "microservices", "microservices", {"shiftroom.io/state": "{not json"}
    )
    await d.engine.run_pass()
    r = rollout(d, CANARY)
    assert r.phase is Phase.INITIALIZED and "ignored an unreadable shiftroom.io/state annotation" in r.message
