"""The simulator settles a deployment's pods only when something can have changed (counted, never timed)."""

from __future__ import annotations

import pytest

from app.clock import VirtualClock
from backends.sim import build_world
from backends.sim.state import SimDeployment

NS = "microservices"
GREEN = (NS, "microservices-green")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def world(clock: VirtualClock):
    return build_world(None, clock)


@pytest.fixture
def reconciled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the deployments reconciled, one entry per reconcile."""
    names: list[str] = []
    original = SimDeployment.reconcile

    def counting(self: SimDeployment, now: float, ready_after: float) -> bool:
        names.append(self.name)
        return original(self, now, ready_after)

    monkeypatch.setattr(SimDeployment, "reconcile", counting)
    return names


async def test_a_world_with_every_pod_ready_settles_nothing(world, clock, reconciled) -> None:
    world.sync()
    reconciled.clear()
    for _ in range(30):
        await clock.advance(0.5)
        world.sync()
        await world.cluster.get_deployment(NS, "microservices-blue")
    assert reconciled == []


async def test_a_rollout_is_settled_when_its_pods_come_ready_and_not_between(world, clock, reconciled) -> None:
    c = world.cluster
    await c.set_image(NS, "microservices-green", "frontend", "microservices/frontend:2.0.0")
    await c.scale(NS, "microservices-green", 3)  # one pod every 5 s (the seed's ready_after)
    reconciled.clear()
    seen = []
    for _ in range(20):
        await clock.advance(1)
        seen.append((await c.get_deployment(NS, "microservices-green")).ready_replicas)
    assert seen == [0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]
    # The three seconds a pod came ready, and nothing else: no other deployment, no quiet second.
    assert reconciled == ["microservices-green"] * 3


async def test_a_write_is_settled_at_once_and_its_pods_counted(world, clock, reconciled) -> None:
    c = world.cluster
    await clock.advance(3)
    world.sync()
    reconciled.clear()
    d = await c.scale(NS, "microservices-blue", 4)
    assert (d.replicas, d.ready_replicas) == (4, 3)
    assert reconciled == ["microservices-blue"]
    await clock.advance(10)
    assert (await c.get_deployment(NS, "microservices-blue")).ready_replicas == 4
