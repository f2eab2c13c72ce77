"""What every controller is handed: the cached cluster, its writes, the clock, and how to record a decision."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.control.cache import ObjectCache
from app.control.writes import ClusterWrites
from app.model import AuditEvent, Level
from backends.base import Webhooks

#: Annotation holding a controller's state on the object it manages.
STATE_ANNOTATION = "shiftroom.io/state"
#: Annotation a pipeline (or the room) sets on a blue-green Service to request a release.
DESIRED_IMAGE_ANNOTATION = "shiftroom.io/desired-image"


@dataclass
class Context:
    clock: Clock
    cache: ObjectCache
    writes: ClusterWrites
    record: Callable[[AuditEvent], None]  # never waits: the trail and the outbox deliver in the background
    actor: str  # this room instance: the actor of automatic decisions and the lease holder
    defer: Callable[[str, Callable[[], Awaitable[None]]], None]  # (destination, work): run later, in order
    webhooks: Webhooks | None = None
    claim: Callable[[], Awaitable[None]] | None = None  # takes the target's Lease before a decision is recorded

    async def decide(
        self,
        target: str,
        action: str,
        reason: str,
        *,
        actor: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        level: Level = Level.INFO,
    ) -> None:
        if self.claim is not None:
            await self.claim()
        self.record(
            AuditEvent(
                t=self.clock.now(),
                actor=actor or self.actor,
                target=target,
                action=action,
                reason=reason,
                before=before or {},
                after=after or {},
                level=level,
            )
        )
