"""Watched, not polled: the engine reads the cluster through its object cache, fed by watches."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from app.clock import VirtualClock
from app.control.engine import Engine
from app.factory import Demo
from app.model import HealthStatus, Phase
from backends.sim.build import build_world
from backends.sim.cluster import SimCluster
from backends.sim.scenario import load_scenario
from tests.control_world import CANARY, rollout, run_until, scenario_file

HEALTHY = """
    name: t-healthy
    duration: 900
    events:
      - at: 10
        release: {target: microservices-canary, image: "microservices/api:1.5.0"}
"""

READS = ("get_", "list_", "revisions", "events")


class CountingCluster:
    """The sim cluster with every call counted at the backend boundary."""

    def __init__(self, inner: SimCluster) -> None:
        self.inner = inner
        self.name = inner.name
        self.read_only = inner.read_only
        self.calls: Counter[str] = Counter()

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self.inner, attr)
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[attr] += 1
            return target(*args, **kwargs)

        return counted

    @property
    def reads(self) -> int:
        return sum(n for name, n in self.calls.items() if name.startswith(READS))


def counted_demo(tmp_path: Path, body: str = HEALTHY) -> tuple[Demo, CountingCluster]:
    clock = VirtualClock()
    world = build_world(load_scenario(scenario_file(tmp_path, body)), clock)
    cluster = CountingCluster(world.cluster)
    engine = Engine(
        clock=clock,
        cluster=cluster,
        metrics=world.metrics,
        targets=world.targets,  # type: ignore[arg-type]
        actor="alice@desk",
        identity="shiftroom@test",
        background=(world.run,),
    )
    return Demo(world=world, engine=engine, clock=clock), cluster


async def test_a_steady_state_pass_makes_no_cluster_reads(tmp_path: Path) -> None:
    d, cluster = counted_demo(tmp_path, "name: quiet\nduration: 600\n")
    await d.engine.start()
    try:
        await d.clock.run_for(30)
        await d.engine.idle()
        assert cluster.calls["watch"] == 1, "one watch for the one namespace in view"
        before = Counter(cluster.calls)
        passes = d.engine.state.seq
        await d.clock.run_for(60)
        await d.engine.idle()
        assert d.engine.state.seq > passes
        made = cluster.calls - before
        assert cluster.reads == 0 and not any(name.startswith(READS) for name in made), made
        assert set(made) <= {"acquire_lease"}, f"only lease renewals (writes), got {dict(made)}"
        assert made["acquire_lease"] <= 2 * 60 / 5 + 2, "renewals a third of the lease apart, not every pass"
    finally:
        await d.engine.stop()


async def test_a_whole_release_never_reads_back_what_it_wrote(tmp_path: Path) -> None:
    d, cluster = counted_demo(tmp_path)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.SUCCEEDED)
        assert cluster.reads == 0, dict(cluster.calls)
        assert cluster.calls["set_weights"] >= 6 and cluster.calls["watch"] == 1
        assert rollout(d, CANARY).stable_image == "microservices/api:1.5.0"
    finally:
        await d.engine.stop()


async def test_a_cluster_gone_away_keeps_the_last_data_with_its_age_and_relists(tmp_path: Path) -> None:
    d, cluster = counted_demo(tmp_path)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 20)
        cut = d.clock.now()
        cluster.inner.unreachable = True
        await d.clock.advance(5)
        await d.engine.idle()
        health = next(h for h in d.engine.state.health if h.name == "cluster")
        assert health.status is HealthStatus.DOWN and "showing the data from 5 s ago" in health.reason
        assert "not reachable" in health.reason
        assert rollout(d, CANARY).actual.canary == 20, "the last good data stays on screen"
        await d.clock.run_for(120)
        await d.engine.idle()
        health = next(h for h in d.engine.state.health if h.name == "cluster")
        assert health.status is HealthStatus.DOWN and "showing the data from 2 min ago" in health.reason
        interval = d.engine.controllers[CANARY].target.analysis.interval
        late = [e for e in d.engine.state.events if e.target == CANARY and e.t > cut + interval]
        assert late == [], "no decision on data older than one analysis interval"
        cluster.inner.unreachable = False
        await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 30, limit=120)
        assert next(h for h in d.engine.state.health if h.name == "cluster").status is HealthStatus.UP
        assert cluster.calls["watch"] >= 2 and d.engine.cache.lists >= 2, "reopened and listed again"
        assert cluster.reads == 0
    finally:
        await d.engine.stop()
