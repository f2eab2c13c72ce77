"""The canary engine judged by a real Prometheus scraping the simulated mesh.

The world runs on a ScaledClock (20x): the scenario's 30 s analysis interval
is 1.5 real seconds, and its "30s" check windows would be 1.5 s of a 1 s
scrape, too few samples for rate(); `min_window=4` widens them to 4 real
seconds (80 clock seconds), which always holds three or more scrapes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric

from app.clock import ScaledClock
from app.control.engine import Engine
from app.model import HealthStatus, Phase, Rollout, RoomState
from backends.prometheus import PrometheusMetrics
from backends.sim import build_world, load_scenario
from backends.sim.defaults import DEFAULT_TARGETS
from backends.sim.exporter import Exporter, IstioCollector
from backends.sim.world import SimWorld
from tests.servers.prometheus import PromServer, require_prometheus, start_prometheus

# one worker runs the whole module under `make test` (--dist loadgroup): one Prometheus, started once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("prometheus-canary")]

KEY = "microservices/microservices-canary"
SPEED = 20.0


def of(state: RoomState) -> Rollout:
    """The canary's rollout in a snapshot (an empty one before the first pass has published)."""
    return state.rollout(KEY) or Rollout(name="(not yet)")


class WorldSlot:
    """What one test's exporter serves: nothing until the test puts its world in."""

    def __init__(self) -> None:
        self.world: SimWorld | None = None

    def collect(self) -> Iterator[Metric]:
        if self.world is not None:
            yield from IstioCollector(self.world).collect()


def slot_exporter() -> tuple[WorldSlot, Exporter]:
    """An exporter on a port the OS chose, listening from the start: Prometheus is told the port before the world
    exists, and no other process can take the port meanwhile."""
    slot = WorldSlot()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(slot)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    return slot, Exporter("127.0.0.1", server.server_address[1], server, thread)


@dataclass
class Room:
    prom: PromServer
    world: SimWorld
    engine: Engine
    slot: WorldSlot
    metrics: PrometheusMetrics

    def rollout(self) -> Rollout:
        r = self.engine.state.rollout(KEY)
        assert r is not None
        return r

    def metrics_health(self):
        return next(h for h in self.engine.state.health if h.name == "metrics")

    async def until(
        self,
        what: str,
        predicate: Callable[[RoomState], bool],
        timeout: float = 30.0,
        always: Callable[[RoomState], bool] | None = None,
    ) -> None:
        """Poll the engine's snapshots until `predicate`; `always` must hold at every look meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.engine.state
            if always is not None:
                assert always(state), f"while waiting for {what}: {of(state)}"
            if predicate(state):
                return
            await asyncio.sleep(0.05)
        r = self.engine.state.rollout(KEY)
        seen = f"{r.phase} {r.message}" if r else "? "
        raise AssertionError(f"{what} did not happen within {timeout:g} s: {seen}")


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    """One Prometheus for the module, scraping one exporter per test (empty until the test's world is in it)."""
    require_prometheus()
    slots = {name: slot_exporter() for name in ("bad", "outage")}
    server = start_prometheus(tmp_path_factory.mktemp("prom"), [exporter.url for _, exporter in slots.values()])
    try:
        # Prometheus scrapes new targets about 5 s after it starts: let that pass before any world's clock runs
        server.wait_for("count(up)", len(slots), timeout=20)
        yield server, {name: slot for name, (slot, _) in slots.items()}
    finally:
        server.stop()
        for _, exporter in slots.values():
            exporter.close()


async def open_room(prom: PromServer, slot: WorldSlot, scenario) -> Room:
    clock = ScaledClock(speed=SPEED)
    world = build_world(scenario, clock)
    slot.world = world
    metrics = PrometheusMetrics(prom.url, clock=clock, min_window=4.0, timeout=1.0, retries=1, backoff=0.05)
    engine = Engine(
        clock=clock, cluster=world.cluster, metrics=metrics, targets=world.targets, actor="t@h", background=(world.run,)
    )
    await engine.start()
    return Room(prom, world, engine, slot, metrics)


async def close_room(room: Room) -> None:
    await room.engine.stop()
    await room.metrics.aclose()
    room.slot.world = None
    room.prom.start()  # the module's server outlives every test, outage or not


async def test_bad_canary_is_rolled_back_on_prometheus_numbers(prom) -> None:
    server, slots = prom
    room = await open_room(server, slots["bad"], load_scenario("bad-canary"))
    try:
        await room.until("the rollback", lambda s: of(s).phase is Phase.FAILED, timeout=40)
    finally:
        await close_room(room)
    r = room.rollout()
    assert r.actual.canary == 0 and r.failed_checks == 5
    events = [e for e in room.engine.state.events if e.target == KEY]
    actions = [e.action for e in events]
    assert actions[-1] == "rollback"
    at_30 = next(i for i, e in enumerate(events) if e.action == "step" and e.after.get("weights") == "70/30")
    early = [e for e in events[:at_30] if e.action == "check-failed"]
    # 10% and 20% pass; only the very first tick may find fewer than two scrapes of the new series
    assert len(early) <= 1 and all("no data" in e.reason for e in early), [e.reason for e in early]
    failing = {c.name: c for c in r.checks if not c.passed}
    assert set(failing) == {"request-success-rate", "error-rate"}, r.checks
    for c in failing.values():
        assert c.status == "ok" and c.value is not None, c  # measured, not missing
        assert "istio_requests_total" in c.query and 'destination_workload="microservices"' in c.query
        assert 'destination_workload_namespace="microservices"' in c.query
    # about 8% of the canary's own requests fail; mixed with the primary's 70% it would read about 2.4%
    assert 4 < failing["error-rate"].value < 14
    assert 86 < failing["request-success-rate"].value < 96


async def test_prometheus_outage_holds_the_canary_and_it_recovers(prom) -> None:
    server, slots = prom
    canary = next(t for t in DEFAULT_TARGETS if t.name == "microservices-canary")
    # failures count during the outage and during the first scrapes after it: give the budget room
    canary = canary.model_copy(update={"analysis": canary.analysis.model_copy(update={"threshold": 15})})
    scenario = load_scenario("healthy-canary").model_copy(update={"targets": (canary,)})
    room = await open_room(server, slots["outage"], scenario)
    try:
        await room.until("two passing steps", lambda s: of(s).actual.canary >= 20, timeout=30)
        assert room.rollout().failed_checks <= 1  # at most the very first tick, before two scrapes existed
        failed = room.rollout().failed_checks
        room.prom.stop()
        # a pass already holding its answers may still step once; from the first failed tick on, nothing moves
        await room.until("the first failure", lambda s: of(s).failed_checks > failed, timeout=15)
        held = room.rollout().actual.canary

        def holding(s: RoomState) -> bool:
            r = of(s)
            return r.phase is Phase.PROGRESSING and r.actual.canary == held

        await room.until(
            "failures during the outage", lambda s: of(s).failed_checks >= failed + 2, timeout=15, always=holding
        )
        health = room.metrics_health()
        assert health.status is HealthStatus.DOWN and health.kind == "prometheus"
        assert room.prom.url in health.reason and "refused the connection" in health.reason
        assert any(room.prom.url in c.error for c in room.rollout().checks)
        assert room.rollout().failed_checks < 15

        room.prom.start()
        await room.until(
            "metrics up again",
            lambda s: next(h for h in s.health if h.name == "metrics").status is HealthStatus.UP,
            timeout=15,
            always=holding,
        )
        await room.until("the promotion", lambda s: of(s).phase is Phase.SUCCEEDED, timeout=40)
    finally:
        await close_room(room)
    r = room.rollout()
    assert r.stable_image == "microservices/api:1.5.0" and r.failed_checks >= failed + 2
