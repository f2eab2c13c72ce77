"""The embedded simulated cluster: a small world with deployments, a mesh, metrics and scripted scenarios.

    world = build_world(load_scenario("bad-canary"), clock)
    asyncio.create_task(world.run())
    engine = Engine(cluster=world.cluster, metrics=world.metrics, targets=world.targets, ...)

`SimCluster(world, read_only=True)` gives a watch-mode view of the same world.
"""

from backends.sim.build import build_world
from backends.sim.cluster import SimCluster
from backends.sim.metrics import SimMetrics
from backends.sim.scenario import Scenario, ScenarioError, list_scenarios, load_scenario, parse_scenario
from backends.sim.world import SimWorld

__all__ = [
    "Scenario",
    "ScenarioError",
    "SimCluster",
    "SimMetrics",
    "SimWorld",
    "build_world",
    "list_scenarios",
    "load_scenario",
    "parse_scenario",
]
