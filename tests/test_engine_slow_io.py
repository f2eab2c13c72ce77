"""Nothing slow inside the pass: a slow gate webhook or notifier delays no other target and no decision."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.clock import EPOCH, VirtualClock
from app.control.engine import Engine
from app.factory import Demo
from app.model import AuditEvent, HookType, Phase, Webhook
from backends.sim.build import build_world
from backends.sim.scenario import load_scenario
from backends.webhooks import HttpWebhooks
from tests.control_world import CANARY, FRONTEND, rollout, run_until, scenario_file
from tests.hook_server import HookServer, hook_server  # noqa: F401 - fixture

RELEASE = """
    name: t-slow
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


def world_engine(tmp_path: Path, body: str, *, hooks: tuple[Webhook, ...] = (), notifier: object = None) -> Demo:
    clock = VirtualClock()
    world = build_world(load_scenario(scenario_file(tmp_path, body)), clock)
    targets = [
        t.model_copy(update={"analysis": t.analysis.model_copy(update={"webhooks": hooks})})
        if t.name == "microservices-canary"
        else t
        for t in world.targets
    ]
    engine = Engine(
        clock=clock,
        cluster=world.cluster,
        metrics=world.metrics,
        targets=targets,
        actor="alice@desk",
        identity="shiftroom@test",
        webhooks=HttpWebhooks(),
        notifier=notifier,  # type: ignore[arg-type]
        background=(world.run,),
    )
    return Demo(world=world, engine=engine, clock=clock)


def record_ticks(d: Demo, key: str) -> list[float]:
    """Wrap one controller's tick to note the clock time of each tick it starts."""
    ctl = d.engine.controllers[key]
    seen: list[float] = []
    original = ctl.tick

    async def tick(now: float, samples: dict) -> None:
        seen.append(round(now - EPOCH))
        await original(now, samples)

    ctl.tick = tick  # type: ignore[method-assign]
    return seen


@pytest.fixture
def server(hook_server: HookServer) -> HookServer:  # noqa: F811 - the fixture, by name
    return hook_server


async def test_a_10_s_webhook_on_one_target_leaves_the_other_targets_ticks_on_time(
    tmp_path: Path, server: HookServer
) -> None:
    server.delay["confirm-rollout"] = 10.0
    hook = Webhook(name="confirm", type=HookType.CONFIRM_ROLLOUT, url=server.url("confirm-rollout"), timeout=15.0)
    d = world_engine(tmp_path, RELEASE, hooks=(hook,))
    canary_ticks, frontend_ticks = record_ticks(d, CANARY), record_ticks(d, FRONTEND)
    await d.engine.start()
    try:
        for _ in range(12):  # the release at 10 s calls the hook, which answers in 10 real seconds
            await d.clock.advance(1)
        for _ in range(100):  # real time: let the request reach the server
            if server.bodies("confirm-rollout"):
                break
            await asyncio.sleep(0.01)
        assert server.bodies("confirm-rollout"), "the gate was called"
        hooked_at = canary_ticks[-1]
        for _ in range(20):  # 20 clock seconds while the hook still holds the canary's tick
            await d.clock.advance(1)
        assert CANARY in d.engine._ticking, "the canary's tick is still waiting for its webhook"
        assert canary_ticks[-1] == hooked_at, "no second tick of the same target while one is in flight"
        now = round(d.clock.now() - EPOCH)
        later = [x for x in frontend_ticks if x > hooked_at]
        assert len(later) >= 20 and later == list(range(hooked_at + 1, now + 1)), "the other target ticked every second"
        assert round(d.engine.state.t - EPOCH) == now, "and the room kept publishing"
    finally:
        await d.engine.stop()


class StuckNotifier:
    """A notifier whose endpoint never answers."""

    def __init__(self) -> None:
        self.started: list[AuditEvent] = []

    async def notify(self, event: AuditEvent) -> None:
        self.started.append(event)
        await asyncio.Event().wait()


async def test_a_notifier_that_never_answers_delays_no_decision(tmp_path: Path) -> None:
    plain = world_engine(tmp_path, BAD)
    stuck = StuckNotifier()
    slow = world_engine(tmp_path, BAD, notifier=stuck)
    timelines = []
    for d in (plain, slow):
        await d.engine.start()
        try:
            await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.FAILED)
            await d.clock.run_for(60)
            await d.engine.idle()
            timelines.append([(round(e.t - EPOCH), e.target, e.action) for e in d.engine.state.events])
        finally:
            await d.engine.stop()
    assert timelines[0] == timelines[1], "the same decisions at the same times, notifier or not"
    assert [e.action for e in stuck.started] == ["rollback"], "the rollback was handed to the notifier"
    assert slow.engine.outbox.queued() == 0
