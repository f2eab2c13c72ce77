"""What every controller is handed: the backends, the clock, and how to record a decision."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.model import AuditEvent, Level
from backends.base import Cluster, Metrics
from backends.webhooks import Webhooks

#: Annotation holding a controller's state on the object it manages.
STATE_ANNOTATION = "shiftroom.io/state"
#: Annotation a pipeline (or the room) sets on a blue-green Service to request a release.
DESIRED_IMAGE_ANNOTATION = "shiftroom.io/desired-image"
#: The actor of automatic decisions.
AUTOMATIC = "shiftroom"


def local_actor() -> str:
    """`user@host`, the actor recorded for keys pressed in this room."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = os.environ.get("USER", "unknown")
    return f"{user}@{socket.gethostname()}"


@dataclass
class Context:
    clock: Clock
    cluster: Cluster
    metrics: Metrics
    record: Callable[[AuditEvent], Awaitable[None]]
    actor: str = "shiftroom"  # identity of this engine (lease holder)
    webhooks: Webhooks | None = None

    async def decide(
        self,
        target: str,
        action: str,
        reason: str,
        *,
        actor: str = AUTOMATIC,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        level: Level = Level.INFO,
    ) -> None:
        await self.record(
            AuditEvent(
                t=self.clock.now(),
                actor=actor,
                target=target,
                action=action,
                reason=reason,
                before=before or {},
                after=after or {},
                level=level,
            )
        )
