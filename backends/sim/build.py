"""`build_world`: a `SimWorld` laid out from a scenario (see `defaults` for the layout)."""

from __future__ import annotations

from app.clock import Clock
from app.model import Strategy, Target
from backends.sim.cluster import SimCluster
from backends.sim.defaults import DEFAULT_IMAGES, DEFAULT_RPS, DEFAULT_TARGETS, colours_of, primary_of, service_of
from backends.sim.director import Director
from backends.sim.loop import Looper
from backends.sim.metrics import SimMetrics
from backends.sim.scenario import Scenario, load_scenario
from backends.sim.state import SimDeployment, SimRoute, SimService
from backends.sim.world import SimWorld


def starting_image(scenario: Scenario, target: Target) -> str:
    fallback = f"{target.namespace}/{target.name}:stable"
    return scenario.images.get(target.name) or DEFAULT_IMAGES.get(target.name) or fallback


def build_world(scenario: Scenario | str | None, clock: Clock, seed: int | None = None) -> SimWorld:
    """A world laid out from `scenario` (a Scenario, a built-in name, a path, or None for the bare seed world)."""
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    scenario = scenario or Scenario(name="seed", description="The seed's objects with steady traffic and no events.")
    world = SimWorld(clock, scenario, seed)
    world.cluster = SimCluster(world)
    world.metrics = SimMetrics(world)
    world.director = Director(world, scenario)
    world.looper = Looper(world, scenario.loop) if scenario.loop is not None else None
    targets = list(scenario.targets if scenario.targets is not None else DEFAULT_TARGETS)
    world.targets = targets
    for target in targets:
        image = starting_image(scenario, target)
        world.rps[target.name] = scenario.rps.get(target.name, DEFAULT_RPS)
        if target.strategy is Strategy.BLUE_GREEN:
            blue, green = colours_of(target)
            prefix = target.deployment
            for name, colour, replicas in ((blue, "blue", target.replicas), (green, "green", 0)):
                world.add(
                    SimDeployment(
                        name=name,
                        namespace=target.namespace,
                        image=image,
                        container=target.container,
                        replicas=replicas,
                        labels={"app": prefix, "version": colour},
                    )
                )
            world.add(
                SimService(
                    name=service_of(target), namespace=target.namespace, selector={"app": prefix, "version": "blue"}
                )
            )
        else:
            world.add(
                SimDeployment(
                    name=primary_of(target),
                    namespace=target.namespace,
                    image=image,
                    container=target.container,
                    replicas=target.replicas,
                    labels={"app": primary_of(target)},
                )
            )
            world.add(
                SimDeployment(
                    name=target.deployment,
                    namespace=target.namespace,
                    image=image,
                    container=target.container,
                    replicas=0,
                    labels={"app": target.deployment},
                )
            )
            world.add(
                SimRoute(
                    name=target.name,
                    namespace=target.namespace,
                    weights={primary_of(target): 100, target.deployment: 0},
                )
            )
    return world
