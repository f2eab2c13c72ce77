"""The room's decisions as Events in the simulated cluster, as a live room records them on the real one:
each audit entry about a target becomes an Event on its managed object (the canary's Deployment, the
blue-green Service), reported by `shiftroom.io/room`, a Warning unless the entry is informational."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from app.model import AuditEvent, Level, Strategy
from backends.sim.defaults import service_of

if TYPE_CHECKING:
    from backends.sim.store import SimAudit
    from backends.sim.world import SimWorld

CONTROLLER = "shiftroom.io/room"


def reason_of(action: str) -> str:
    """`rollback` → `Rollback`, `switch-back` → `SwitchBack` (Event reasons are UpperCamelCase)."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", action) if p)[:128] or "Decision"


def record_decision(world: SimWorld, entry: AuditEvent) -> None:
    target = next((t for t in world.targets if t.key == entry.target), None)
    if target is None:
        return  # a flag, an experiment, the engine: not an object in the cluster
    if target.strategy is Strategy.CANARY:
        obj = f"Deployment/{target.deployment or target.name}"
    else:
        obj = f"Service/{service_of(target)}"
    note = f"{entry.reason or entry.action} (by {entry.actor})"[:1024]
    warning = entry.level is not Level.INFO
    world.event(target.namespace, obj, reason_of(entry.action), note, "Warning" if warning else "Normal", CONTROLLER)


async def record_decisions(world: SimWorld, audit: SimAudit) -> None:
    """Follow the audit log forever (a background task of the demo)."""
    async for entry in audit.follow():
        record_decision(world, entry)
