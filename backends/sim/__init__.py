"""The embedded simulated cluster: a small world with deployments, a mesh, metrics and scripted scenarios.

    world = build_world(load_scenario("bad-canary"), clock)
    asyncio.create_task(world.run())
    engine = Engine(cluster=world.cluster, metrics=world.metrics, targets=world.targets, ...)

`SimCluster(world, read_only=True)` gives a watch-mode view of the same world.

The names below are imported when first used, so that `backends.sim.roster` (the room's first
frame) does not import the world, its models and pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backends.sim.build import build_world
    from backends.sim.cluster import SimCluster
    from backends.sim.metrics import SimMetrics
    from backends.sim.scenario import Scenario, ScenarioError, list_scenarios, load_scenario, parse_scenario
    from backends.sim.world import SimWorld

_WHERE = {
    "build_world": "backends.sim.build",
    "SimCluster": "backends.sim.cluster",
    "SimMetrics": "backends.sim.metrics",
    "Scenario": "backends.sim.scenario",
    "ScenarioError": "backends.sim.scenario",
    "list_scenarios": "backends.sim.scenario",
    "load_scenario": "backends.sim.scenario",
    "parse_scenario": "backends.sim.scenario",
    "SimWorld": "backends.sim.world",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'backends.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
