"""Flagger's webhooks, called over real HTTP on loopback, gating a simulated canary."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.clock import VirtualClock
from app.control.engine import Engine
from app.factory import Demo
from app.model import HookType, Phase, Webhook
from backends.sim.build import build_world
from backends.sim.scenario import load_scenario
from backends.webhooks import HttpWebhooks
from tests.control_world import CANARY, actions, rollout, run_until, scenario_file
from tests.hook_server import HookServer

RELEASE = """
    name: t-hooks
    duration: 900
    behaviour:
      "microservices/api:1.5.0": {success_rate: 99.99}
    events:
      - at: 10
        release: {target: microservices-canary, image: "microservices/api:1.5.0"}
"""


@pytest.fixture
def server(hook_server: HookServer) -> HookServer:
    return hook_server


def hooked(tmp_path: Path, server: HookServer, *kinds: HookType, timeout: float = 2.0) -> Demo:
    clock = VirtualClock()
    world = build_world(load_scenario(scenario_file(tmp_path, RELEASE)), clock)
    hooks = tuple(
        Webhook(name=k.value, type=k, url=server.url(k.value), timeout=timeout, metadata={"cmd": "hey -z 1m"})
        for k in kinds
    )
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
        webhooks=HttpWebhooks(),
        background=(world.run,),
    )
    return Demo(world=world, engine=engine, clock=clock)


async def test_confirm_rollout_holds_the_canary_at_zero_until_confirmed(tmp_path: Path, server: HookServer) -> None:
    server.status["confirm-rollout"] = 403
    d = hooked(tmp_path, server, HookType.CONFIRM_ROLLOUT)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.WAITING)
        await d.clock.run_for(100)
        await d.engine.idle()
        r = rollout(d, CANARY)
        assert r.phase is Phase.WAITING and "confirm-rollout" in r.message and "HTTP 403" in r.message
        canary = await d.world.cluster.get_deployment("microservices", "microservices")
        assert canary.replicas == 0, "not even scaled up before confirmation"
        server.status["confirm-rollout"] = 200
        await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 10, limit=120)
        body = server.bodies("confirm-rollout")[0]
        assert body["name"] == "microservices-canary" and body["namespace"] == "microservices"
        assert body["type"] == "confirm-rollout" and body["metadata"] == {"cmd": "hey -z 1m"}
    finally:
        await d.engine.stop()


async def test_failing_rollout_hook_counts_failures_until_rollback(tmp_path: Path, server: HookServer) -> None:
    server.status["rollout"] = 500
    d = hooked(tmp_path, server, HookType.ROLLOUT, HookType.POST_ROLLOUT)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.FAILED)
        r = rollout(d, CANARY)
        assert r.failed_checks == 5 and "webhook rollout answered HTTP 500" in r.message
        assert any(c.name == "webhook rollout" and not c.passed for c in r.checks)
        assert server.bodies("post-rollout"), "post-rollout runs after the rollback"
    finally:
        await d.engine.stop()


async def test_confirm_promotion_holds_at_max_weight(tmp_path: Path, server: HookServer) -> None:
    server.status["confirm-promotion"] = 409
    d = hooked(tmp_path, server, HookType.CONFIRM_PROMOTION)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 50)
        await d.clock.run_for(120)
        await d.engine.idle()
        r = rollout(d, CANARY)
        assert r.phase is Phase.PROGRESSING and "waiting for confirm-promotion" in r.message
        server.status["confirm-promotion"] = 200
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.SUCCEEDED, limit=120)
    finally:
        await d.engine.stop()


async def test_a_rollback_hook_answering_2xx_rolls_back(tmp_path: Path, server: HookServer) -> None:
    server.status["rollback"] = 404  # nobody asks yet
    d = hooked(tmp_path, server, HookType.ROLLBACK)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 20)
        server.status["rollback"] = 200
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.FAILED, limit=40)
        assert "rollback webhook rollback asked for a rollback" in rollout(d, CANARY).message
        assert [a for _, a in actions(d)].count("rollback") == 1
    finally:
        await d.engine.stop()


async def test_a_hook_that_does_not_answer_in_time_fails_with_one_sentence(tmp_path: Path, server: HookServer) -> None:
    server.delay["rollout"] = 1.0
    d = hooked(tmp_path, server, HookType.ROLLOUT, timeout=0.2)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).failed_checks >= 1)
        assert "did not answer within 0.2 s" in rollout(d, CANARY).message
    finally:
        await d.engine.stop()
