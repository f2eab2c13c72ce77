"""`SimCluster`: the `backends.base.Cluster` protocol over a `SimWorld`.

Rules on top of the world's changes, the way a Kubernetes API server applies them:

- a read-only instance refuses every write (and `probe`, which is an exec into
  a pod) with `ReadOnly`, before looking at anything, so it changes nothing;
- a write that passes a stale `resource_version` fails with `Conflict`;
- while the scenario takes the cluster down, or `unreachable` is set (tests
  of "backend down"), every call raises `Unavailable` and open watches break;
- `watch()` behaves like an informer's watch: RESET, an ADDED per existing
  object, SYNCED, then changes in resourceVersion order from a queue of its
  own; a cut ends it with `Unavailable` and a new watch lists again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from backends.base import (
    ClusterEvent,
    Conflict,
    Deployment,
    Kind,
    Lease,
    LeaseHeld,
    ReadOnly,
    Revision,
    Route,
    Service,
    Unavailable,
    WatchEvent,
    WatchKind,
)
from backends.sim.state import SimLease, SimRoute, SimService

if TYPE_CHECKING:
    from backends.sim.world import SimWorld


class SimCluster:
    name = "sim"

    def __init__(self, world: SimWorld, read_only: bool = False) -> None:
        self.world = world
        self.read_only = read_only
        self._unreachable = False
        self._watches: list[SimWatch] = []

    @property
    def unreachable(self) -> bool:
        """Set to simulate an API server nobody can reach: every call raises `Unavailable`."""
        return self._unreachable

    @unreachable.setter
    def unreachable(self, value: bool) -> None:
        self._unreachable = bool(value)
        if value:
            for watch in list(self._watches):
                watch.cut()

    # ------------------------------------------------------------ guards

    def _reach(self) -> float:
        now = self.world.sync()  # the scenario may take the API down on the way
        if self.unreachable or self.world.cluster_down:
            raise Unavailable("sim", "The sim cluster API is not reachable right now; Shiftroom keeps retrying.")
        return now

    def _write(self, what: str) -> float:
        if self.read_only:
            raise ReadOnly("sim", f"The sim cluster is open read-only here, so it refused to {what}.")
        return self._reach()

    @staticmethod
    def _check_version(kind: str, key: str, current: int, expected: str | None) -> None:
        if expected is not None and str(expected) != str(current):
            raise Conflict(
                "sim",
                f"{kind} {key} changed since it was read (version {expected}, now {current}); read it again and retry.",
            )

    async def ping(self) -> None:
        self._reach()

    # ------------------------------------------------------------ deployments

    async def list_deployments(self, namespace: str | None = None) -> list[Deployment]:
        now = self._reach()
        return [d.view(now) for (ns, _), d in sorted(self.world.deployments.items()) if namespace in (None, ns)]

    async def get_deployment(self, namespace: str, name: str) -> Deployment:
        now = self._reach()
        return self.world.deployment(namespace, name).view(now)

    async def set_image(self, namespace: str, name: str, container: str, image: str) -> Deployment:
        self._write(f"set the image of deployment {namespace}/{name}")
        dep = self.world.set_image(namespace, name, container, image)
        return dep.view(self.world.clock.now())

    async def scale(self, namespace: str, name: str, replicas: int) -> Deployment:
        self._write(f"scale deployment {namespace}/{name}")
        return self.world.scale(namespace, name, replicas).view(self.world.clock.now())

    async def revisions(self, namespace: str, name: str) -> list[Revision]:
        self._reach()
        return self.world.deployment(namespace, name).revisions()

    async def rollout_undo(self, namespace: str, name: str, to_revision: int | None = None) -> Deployment:
        self._write(f"roll back deployment {namespace}/{name}")
        return self.world.rollout_undo(namespace, name, to_revision).view(self.world.clock.now())

    # ------------------------------------------------------------ services and routes

    async def get_service(self, namespace: str, name: str) -> Service:
        self._reach()
        return self.world.service(namespace, name).view()

    async def patch_selector(
        self, namespace: str, name: str, selector: Mapping[str, str], resource_version: str | None = None
    ) -> Service:
        self._write(f"change the selector of service {namespace}/{name}")
        svc = self.world.service(namespace, name)
        self._check_version("Service", f"{namespace}/{name}", svc.rv, resource_version)
        return self.world.patch_selector(namespace, name, selector).view()

    async def get_route(self, namespace: str, name: str) -> Route:
        self._reach()
        return self.world.route(namespace, name).view()

    async def set_weights(
        self, namespace: str, name: str, weights: Mapping[str, int], resource_version: str | None = None
    ) -> Route:
        self._write(f"change the weights of route {namespace}/{name}")
        route = self.world.route(namespace, name)
        self._check_version("Route", f"{namespace}/{name}", route.rv, resource_version)
        return self.world.set_weights(namespace, name, weights).view()

    async def get_annotations(self, kind: Kind, namespace: str, name: str) -> dict[str, str]:
        self._reach()
        return dict(self.world.annotated(kind, namespace, name).annotations)

    async def patch_annotations(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        annotations: Mapping[str, str | None],
        resource_version: str | None = None,
    ) -> None:
        self._write(f"annotate {kind.lower()} {namespace}/{name}")
        obj = self.world.annotated(kind, namespace, name)
        self._check_version(kind, f"{namespace}/{name}", obj.rv, resource_version)
        self.world.patch_annotations(kind, namespace, name, annotations)

    # ------------------------------------------------------------ leases

    async def acquire_lease(self, namespace: str, name: str, holder: str, duration: float) -> Lease:
        now = self._write(f"take lease {namespace}/{name}")
        lease = self.world.leases.get((namespace, name))
        if lease is None:
            lease = self.world.leases[(namespace, name)] = SimLease(
                name, namespace, holder, now, duration, rv=self.world.next_rv()
            )
            self.world.emit("ADDED", "Lease", lease.view())
            return lease.view()
        if lease.view().held_by_other(holder, now):
            left = lease.renewed + lease.duration - now
            sentence = f"Lease {namespace}/{name} is held by {lease.holder} for another {left:.0f} s."
            raise LeaseHeld("sim", sentence, lease.holder)
        lease.holder, lease.renewed, lease.duration = holder, now, duration
        lease.rv = self.world.next_rv()
        self.world.emit("MODIFIED", "Lease", lease.view())
        return lease.view()

    async def release_lease(self, namespace: str, name: str, holder: str) -> None:
        self._write(f"release lease {namespace}/{name}")
        lease = self.world.leases.get((namespace, name))
        if lease is None or lease.holder != holder:
            return  # not ours: nothing to give back
        lease.holder, lease.renewed = "", 0.0
        lease.rv = self.world.next_rv()
        self.world.emit("MODIFIED", "Lease", lease.view())

    async def get_lease(self, namespace: str, name: str) -> Lease | None:
        self._reach()
        lease = self.world.leases.get((namespace, name))
        return lease.view() if lease else None

    # ------------------------------------------------------------ probes, events, watches

    async def probe(self, namespace: str, deployment: str, path: str = "/health") -> tuple[bool, str]:
        self._write(f"run a health check in deployment {namespace}/{deployment}")
        return self.world.probe(namespace, deployment, path)

    async def events(self, namespace: str | None = None, since: float = 0.0) -> list[ClusterEvent]:
        """Cluster events stamped strictly after `since`, oldest first."""
        self._reach()
        return [e for e in self.world.events if e.t > since and namespace in (None, e.namespace)]

    def watch(self, namespace: str | None = None) -> SimWatch:
        watch = SimWatch(self, namespace)
        self._watches.append(watch)
        return watch


class SimWatch:
    """An async iterator of `WatchEvent`s with informer semantics; `aclose()` ends it.

    The first read connects: it raises `Unavailable` while the API is down, else
    subscribes and lists in one step (so no change falls between the list and
    the stream) and yields `RESET`, one `ADDED` per object in resourceVersion
    order, `SYNCED`, then every change as it happens. A cut ends the stream with
    `Unavailable`; a new watch lists again.
    """

    def __init__(self, cluster: SimCluster, namespace: str | None) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self._queue: asyncio.Queue[WatchEvent | None] | None = None
        self._pending: list[WatchEvent] = []
        self._closed = False

    def _connect(self) -> None:
        self.cluster._reach()
        world = self.cluster.world
        self._queue = world.subscribe(self.namespace)
        now = world.clock.now()
        listed: list[tuple[int, WatchEvent]] = []
        for (ns, _), dep in world.deployments.items():
            if self.namespace in (None, ns):
                listed.append((dep.rv, WatchEvent(type="ADDED", kind="Deployment", object=dep.view(now))))
        others: list[
            tuple[
                WatchKind,
                dict[tuple[str, str], SimService] | dict[tuple[str, str], SimRoute] | dict[tuple[str, str], SimLease],
            ]
        ] = [("Service", world.services), ("Route", world.routes), ("Lease", world.leases)]
        for kind, objs in others:
            for (ns, _), obj in objs.items():
                if self.namespace in (None, ns):
                    listed.append((obj.rv, WatchEvent(type="ADDED", kind=kind, object=obj.view())))
        for e in world.events:
            if self.namespace in (None, e.namespace):
                listed.append((int(e.resource_version or 0), WatchEvent(type="ADDED", kind="Event", object=e)))
        listed.sort(key=lambda pair: pair[0])
        self._pending = [WatchEvent(type="RESET"), *(ev for _, ev in listed), WatchEvent(type="SYNCED")]

    def __aiter__(self) -> SimWatch:
        return self

    async def __anext__(self) -> WatchEvent:
        if self._closed:
            raise StopAsyncIteration
        if self._queue is None:
            try:
                self._connect()
            except Unavailable:
                await self.aclose()
                raise
        if self._pending:
            return self._pending.pop(0)
        assert self._queue is not None
        if self.cluster.unreachable or self.cluster.world.cluster_down:
            await self.aclose()
            raise Unavailable("sim", "The sim cluster API is not reachable, so the watch was cut off.")
        event = await self._queue.get()
        if event is None:  # the cluster went down while we waited
            await self.aclose()
            raise Unavailable("sim", "The sim cluster API went away, so the watch was cut off.")
        return event

    def cut(self) -> None:
        """Break the stream, as a dropped connection does: the next read raises `Unavailable`."""
        if self._queue is not None:
            self._queue.put_nowait(None)

    async def aclose(self) -> None:
        self._closed = True
        if self._queue is not None:
            self.cluster.world.unsubscribe(self._queue)
            self._queue = None
        if self in self.cluster._watches:
            self.cluster._watches.remove(self)
