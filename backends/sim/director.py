"""Plays a scenario's events against the world, one simulated second at a time.

Timed events (`at: seconds`, counted from the world's start) fire at the first
second at or after their time; conditional events (`when: {...}`) fire at the
first second their condition holds. Each event fires once, in file order, and
leaves a `Scenario` cluster event behind so the room's event list tells the story.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.model import Strategy
from backends.base import BackendError
from backends.sim.behaviour import Behaviour
from backends.sim.defaults import service_of
from backends.sim.scenario import Condition, Event, Scenario

if TYPE_CHECKING:
    from backends.sim.world import SimWorld

DESIRED_IMAGE = "shiftroom.io/desired-image"


class Director:
    def __init__(self, world: SimWorld, scenario: Scenario) -> None:
        self.world = world
        self.pending: list[Event] = list(scenario.events)
        self.fired: list[tuple[float, Event]] = []

    def step(self, t: float) -> None:
        if not self.pending:
            return
        elapsed = t - self.world.start
        due = [e for e in self.pending if self._due(e, elapsed)]
        for event in due:
            self.pending.remove(event)
            self.fired.append((t, event))
            self.apply(event)

    def _due(self, event: Event, elapsed: float) -> bool:
        if event.at is not None:
            return elapsed + 1e-9 >= event.at
        return event.when is not None and self._holds(event.when, elapsed)

    def _holds(self, cond: Condition, elapsed: float) -> bool:
        if cond.after is not None and elapsed + 1e-9 < cond.after:
            return False
        try:
            target = self.world.target(cond.target)
        except BackendError:
            return False
        if cond.canary_weight_at_least is not None:
            if target.strategy is not Strategy.CANARY:
                return False
            if self.world.canary_weight(target) < cond.canary_weight_at_least:
                return False
        if cond.active_color is not None and self.world.active_color(target) != cond.active_color:
            return False
        return True

    def apply(self, event: Event) -> None:
        world = self.world
        ns = world.targets[0].namespace if world.targets else "default"
        try:
            if event.release is not None:
                target = world.target(event.release.target)
                ns = target.namespace
                if target.strategy is Strategy.CANARY:
                    world.set_image(ns, target.deployment, target.container, event.release.image)
                else:
                    world.patch_annotations("Service", ns, service_of(target), {DESIRED_IMAGE: event.release.image})
                text = f"release of {event.release.image} to {target.name}"
            elif event.behaviour is not None:
                change = event.behaviour
                old = world.behaviour(change.image)
                world.behaviours[change.image] = Behaviour.model_validate({**old.model_dump(), **change.changes()})
                fields = ", ".join(f"{k}={v}" for k, v in change.changes().items() if k != "ramp")
                text = f"{change.image} now behaves differently ({fields or 'ramp'})"
            elif event.metrics is not None:
                world.metrics_down = event.metrics == "down"
                text = "metrics backend goes away" if world.metrics_down else "metrics backend is back"
            elif event.cluster is not None:
                world.set_cluster_down(event.cluster == "down")
                text = "cluster API goes away" if world.cluster_down else "cluster API is back"
            else:
                text = event.note or ""
        except BackendError as exc:
            world.event(ns, f"scenario/{world.scenario.name}", "ScenarioFailed", str(exc), "Warning")
            return
        world.event(ns, f"scenario/{world.scenario.name}", "Scenario", text)
