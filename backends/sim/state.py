"""The simulator's mutable objects and their frozen `backends.base` views.

A `SimDeployment` keeps its pods (image + the clock time each becomes ready)
and a ReplicaSet-like revision history. Updates roll the way a Deployment with
maxSurge=1 / maxUnavailable=0 does: pods of the new template come up one by
one, each after its image's readiness delay, and for each one that becomes
ready one old pod goes away, so a deployment that was serving keeps serving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from backends.base import Deployment, Lease, Revision, Route, Service

#: As Kubernetes' default revisionHistoryLimit.
HISTORY_LIMIT = 10


@dataclass(slots=True)
class Pod:
    image: str
    ready_at: float

    def ready(self, now: float) -> bool:
        return self.ready_at <= now


@dataclass(slots=True)
class SimDeployment:
    name: str
    namespace: str
    image: str
    container: str = "app"
    replicas: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    history: dict[int, tuple[str, float]] = field(default_factory=dict)  # revision -> (image, created)
    rv: int = 1
    # (image, replicas, pods, from, until) of the last reconcile: until a pod's readiness time comes,
    # another reconcile of the same template would change nothing and find the same ready count.
    _quiet: tuple[str, int, int, float, float] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def revision(self) -> int:
        return max(self.history) if self.history else 1

    def ready_count(self, now: float) -> int:
        """Ready pods of the current template (what `rollout status` waits for)."""
        return sum(1 for p in self.pods if p.image == self.image and p.ready(now))

    def serving(self, now: float) -> dict[str, int]:
        """Ready pods by image, old template included (they still take traffic)."""
        out: dict[str, int] = {}
        for p in self.pods:
            if p.ready(now):
                out[p.image] = out.get(p.image, 0) + 1
        return out

    def record_revision(self, image: str, now: float) -> None:
        """Like a ReplicaSet: an image seen before moves to the new revision number."""
        for rev, (img, _) in list(self.history.items()):
            if img == image:
                del self.history[rev]
        self.history[(max(self.history) if self.history else 0) + 1] = (image, now)
        while len(self.history) > HISTORY_LIMIT:
            del self.history[min(self.history)]

    def reconcile(self, now: float, ready_after: float) -> bool:
        """Create missing pods, retire surplus and superseded ones; True when anything changed."""
        before = [(p.image, p.ready_at) for p in self.pods]
        current = [p for p in self.pods if p.image == self.image]
        old = [p for p in self.pods if p.image != self.image]
        if len(current) > self.replicas:  # scale down: unready pods go first, then the newest
            current.sort(key=lambda p: p.ready_at)
            current = current[: self.replicas]
        last = max((p.ready_at for p in current), default=now)
        while len(current) < self.replicas:
            last = max(last, now) + ready_after
            current.append(Pod(self.image, last))
        ready_new = sum(1 for p in current if p.ready(now))
        keep_old = max(0, self.replicas - ready_new)
        old = [p for p in old if p.ready(now)]  # an old pod that never became ready is just deleted
        old.sort(key=lambda p: p.ready_at)
        self.pods = old[:keep_old] + current
        until = min((p.ready_at for p in self.pods if p.ready_at > now), default=math.inf)
        self._quiet = (self.image, self.replicas, len(self.pods), now, until)
        return before != [(p.image, p.ready_at) for p in self.pods]

    def quiet(self, now: float) -> bool:
        """Whether a reconcile at `now` would change nothing since the last one (no pod came ready, same template)."""
        q = self._quiet
        return (
            q is not None
            and q[0] == self.image
            and q[1] == self.replicas
            and q[2] == len(self.pods)
            and q[3] <= now < q[4]
        )

    def view(self, now: float) -> Deployment:
        return Deployment(
            name=self.name,
            namespace=self.namespace,
            image=self.image,
            container=self.container,
            replicas=self.replicas,
            ready_replicas=self.ready_count(now),
            revision=self.revision,
            labels=dict(self.labels),
            annotations=dict(self.annotations),
            resource_version=str(self.rv),
        )

    def revisions(self) -> list[Revision]:
        return [
            Revision(deployment=self.name, namespace=self.namespace, revision=rev, image=img, created=created)
            for rev, (img, created) in sorted(self.history.items())
        ]


@dataclass(slots=True)
class SimService:
    name: str
    namespace: str
    selector: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    rv: int = 1

    def view(self) -> Service:
        return Service(
            name=self.name,
            namespace=self.namespace,
            selector=dict(self.selector),
            annotations=dict(self.annotations),
            resource_version=str(self.rv),
        )


@dataclass(slots=True)
class SimRoute:
    name: str
    namespace: str
    weights: dict[str, int] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    rv: int = 1

    def view(self) -> Route:
        return Route(
            name=self.name,
            namespace=self.namespace,
            weights=dict(self.weights),
            annotations=dict(self.annotations),
            resource_version=str(self.rv),
        )


@dataclass(slots=True)
class SimLease:
    name: str
    namespace: str
    holder: str = ""
    renewed: float = 0.0
    duration: float = 15.0
    rv: int = 1

    def view(self) -> Lease:
        return Lease(
            name=self.name,
            namespace=self.namespace,
            holder=self.holder,
            renewed=self.renewed,
            duration=self.duration,
            resource_version=str(self.rv),
        )
