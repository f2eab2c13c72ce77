"""The simulated world's own release controller, for rooms that only watch.

On a real cluster a read-only room watches releases that Flagger or Argo
Rollouts drive. In the simulator nothing would drive them, and a wall monitor
would watch a frozen world; so a read-only demo gets the world's controller: a
second, writable, screenless engine on the world's own cluster, identity
`sim-controller`, holding the leases and making the decisions the room shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from app.clock import Clock
from app.control.engine import Engine
from app.model import Mode

if TYPE_CHECKING:
    from backends.base import AuditLog
    from backends.sim.world import SimWorld

ACTOR = "sim-controller"


def autopilot(world: SimWorld, clock: Clock, audit: AuditLog | None = None) -> Engine:
    """A writable engine driving every target of `world`; it publishes to nobody, so it samples no series.
    With `audit` (the simulated audit log the watching room follows), its decisions are in the room's log."""
    return Engine(
        clock=clock,
        cluster=world.cluster,
        metrics=world.metrics,
        targets=world.targets,
        audit=audit,
        mode=Mode.DEMO,
        context="sim",
        scenario=world.scenario.name,
        actor=ACTOR,
        identity=ACTOR,  # the lease holder and the actor of its decisions
        tick_every=1.0,
        publish_every=60.0,
        series_every=1e9,
    )


def beside(engine: Engine) -> Callable[[], Coroutine[Any, Any, None]]:
    """A background task for the watching engine: runs `engine` until cancelled, then stops it."""

    async def run() -> None:
        await engine.start()
        try:
            await asyncio.Event().wait()
        finally:
            await engine.stop()

    return run
