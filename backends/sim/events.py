"""The simulated cluster's Events, kept as the API server keeps `events.k8s.io/v1` Events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol

from backends.base import ClusterEvent

GROUPS = {"Deployment": "apps"}  # the API group of the objects Events are about ("" is the core group)
#: Who reports the world's own Events (kubectl's "From"): the Deployment controller, the simulated mesh.
CONTROLLERS = {"Deployment": "deployment-controller", "Service": "sim-mesh", "Route": "sim-mesh"}


class Versions(Protocol):
    def next_rv(self) -> int: ...


def sim_event(
    events: Iterable[ClusterEvent],
    namespace: str,
    obj: str,
    reason: str,
    message: str,
    type: Literal["Normal", "Warning"],
    controller: str,
    now: float,
    versions: Versions,
) -> tuple[ClusterEvent, ClusterEvent | None]:
    """The Event to append and the one of `events` it replaces (None: a new one): the same reason and message
    again on the same object counts the last one up (a series), else it is a new Event `<name>.<rv in hex>`."""
    kind, _, name = obj.partition("/")
    last = next((e for e in reversed(list(events)) if (e.namespace, e.object) == (namespace, obj)), None)
    rv = versions.next_rv()
    if last is not None and (last.reason, last.message, last.type) == (reason, message, type):
        update = {"t": now, "count": last.count + 1, "first": last.first or last.t, "resource_version": str(rv)}
        return last.model_copy(update=update), last
    event = ClusterEvent(
        t=now,
        namespace=namespace,
        object=obj,
        reason=reason,
        message=message,
        type=type,
        name=f"{name}.{rv:x}",
        group=GROUPS.get(kind, ""),
        controller=controller or CONTROLLERS.get(kind, ""),
        resource_version=str(rv),
    )
    return event, None
