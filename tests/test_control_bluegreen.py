"""Blue-green and the post-rollout guard on the virtual clock."""

from __future__ import annotations

from pathlib import Path

from app.control.commands import RolloutCommand, Verb
from app.model import Phase
from tests.control_world import CANARY, FRONTEND, actions, demo, rollout, run_until

RELEASE = """
    name: t-bg
    duration: 900
    behaviour:
      {behaviour}
    events:
      - at: 5
        release: {{target: frontend, image: "microservices/frontend:v2"}}
"""


def bg(tmp_path: Path, behaviour: str = "{}", extra: str = "") -> object:
    return demo(tmp_path, RELEASE.format(behaviour=behaviour) + extra)


async def selector(d) -> str:
    svc = await d.world.cluster.get_service("microservices", "microservices")
    return svc.selector["version"]


async def test_release_switches_after_health_checks_and_scales_the_old_colour_down_later(tmp_path: Path) -> None:
    d = bg(tmp_path)
    await d.engine.start()
    try:
        await run_until(d, lambda d: any(a == "switch" for _, a in actions(d, FRONTEND)))
        assert await selector(d) == "green"
        acts = dict((a, s) for s, a in actions(d, FRONTEND))
        # ready after ~5 s, then 10 checks 5 s apart: the switch comes after the 10th check
        assert acts["switch"] - acts["start"] >= 45
        await run_until(d, lambda d: rollout(d, FRONTEND).phase is Phase.SUCCEEDED, limit=60)
        r = rollout(d, FRONTEND)
        assert r.active_color == "green" and r.stable_image == "microservices/frontend:v2"
        blue = await d.world.cluster.get_deployment("microservices", "microservices-blue")
        assert blue.replicas == 3, "the old colour stays up during the scale-down delay"
        # switching back is one selector change while blue is up
        preview = await d.engine.preview(RolloutCommand(Verb.SWITCH, FRONTEND))
        assert preview.destructive and any("green → blue" in line for line in preview.lines)
        await run_until(d, lambda d: any(a == "scale-down" for _, a in actions(d, FRONTEND)), limit=400)
        blue = await d.world.cluster.get_deployment("microservices", "microservices-blue")
        assert blue.replicas == 0
    finally:
        await d.engine.stop()


async def test_failed_health_check_stops_and_leaves_traffic_on_blue(tmp_path: Path) -> None:
    d = bg(tmp_path, behaviour='"microservices/frontend:v2": {health_failures: 3}')
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, FRONTEND).phase is Phase.FAILED)
        r = rollout(d, FRONTEND)
        assert "health check 1/10" in r.message and "traffic stays on blue" in r.message
        assert await selector(d) == "blue"
        green = await d.world.cluster.get_deployment("microservices", "microservices-green")
        assert green.replicas == 0
    finally:
        await d.engine.stop()


async def test_breach_while_stabilising_switches_straight_back(tmp_path: Path) -> None:
    d = bg(tmp_path, behaviour='"microservices/frontend:v2": {success_rate: 50}')
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, FRONTEND).phase is Phase.FAILED)
        acts = [a for _, a in actions(d, FRONTEND)]
        assert acts[-1] == "switch-back" and "switch" in acts
        assert await selector(d) == "blue"
        assert "breach while stabilising" in rollout(d, FRONTEND).message
    finally:
        await d.engine.stop()


async def test_manual_switch_and_switch_back_by_key(tmp_path: Path) -> None:
    d = bg(tmp_path)
    await d.engine.execute(RolloutCommand(Verb.MANUAL, FRONTEND))
    await d.engine.start()
    try:
        await run_until(d, lambda d: "press b" in rollout(d, FRONTEND).message)
        assert await selector(d) == "blue"
        assert (await d.engine.execute(RolloutCommand(Verb.SWITCH, FRONTEND))).ok
        assert await selector(d) == "green"
        assert (await d.engine.execute(RolloutCommand(Verb.SWITCH, FRONTEND))).ok
        assert await selector(d) == "blue"
        events = [e for e in d.engine.state.events if e.action in ("switch", "switch-back")]
        assert [e.actor for e in events] == ["alice@desk", "alice@desk"]
        assert events[0].before == {"selector": {"version": "blue"}}
        assert events[0].after == {"selector": {"version": "green"}}
    finally:
        await d.engine.stop()


async def test_guard_undoes_a_promoted_canary_that_degrades(tmp_path: Path) -> None:
    d = demo(
        tmp_path,
        """
        name: t-guard
        duration: 900
        behaviour:
          "microservices/api:1.5.0":
            ramp: {start_after: 200, over: 10, success_rate: 60}
        events:
          - at: 10
            release: {target: microservices-canary, image: "microservices/api:1.5.0"}
    """,
    )
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.SUCCEEDED)
        assert rollout(d, CANARY).guard_until is not None
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.FAILED, limit=400)
        undo = [e for e in d.engine.state.events if e.action == "undo"]
        assert len(undo) == 1 and "error-rate" in undo[0].reason
        assert undo[0].before["image"] == "microservices/api:1.5.0"
        assert undo[0].after["image"] == "microservices/api:1.4.0"
        assert undo[0].after["revision"] > undo[0].before["revision"], "undo makes a new revision"
    finally:
        await d.engine.stop()


async def test_pause_holds_a_blue_green_release_where_it_is(tmp_path: Path) -> None:
    d = bg(tmp_path)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, FRONTEND).stage == "health")
        assert (await d.engine.execute(RolloutCommand(Verb.PAUSE, FRONTEND))).ok
        stage = rollout(d, FRONTEND).stage
        await d.clock.run_for(200)
        await d.engine.idle()
        r = rollout(d, FRONTEND)
        assert r.paused and r.stage == stage and await selector(d) == "blue"
        assert r.message == "paused by alice@desk", "no health check ran while paused"
        await d.engine.execute(RolloutCommand(Verb.RESUME, FRONTEND))
        await run_until(d, lambda d: rollout(d, FRONTEND).phase is Phase.SUCCEEDED)
        assert [e.action for e in d.engine.state.events if e.actor == "alice@desk"] == ["pause", "resume"]
    finally:
        await d.engine.stop()
