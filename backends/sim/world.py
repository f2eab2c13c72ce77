"""`SimWorld`: the whole simulated cluster, its mesh and its script, in one object.

The world holds deployments, services, weighted routes, leases and cluster
events, keyed by (namespace, name). Time comes from the injected clock:
`tick(now)` catches the world up to `now` in whole seconds (pod readiness,
one second of traffic, scenario events); `run()` does that once a second,
forever. `SimCluster` and `SimMetrics` catch the world up before they answer,
so the numbers never depend on who asked first.

The methods here apply changes without permission checks: `SimCluster` adds
read-only, outage and optimistic-concurrency rules on top, and the scenario
(the outside world: a CI pipeline, a flaky dependency) calls them directly.

The world imports none of the objects built around it: `build_world` makes the
cluster, the metrics and the director from the outside and hands them in, so
the modules depend one way only (they on the world).
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
from collections import deque
from collections.abc import Callable, Mapping
from typing import Literal, Protocol

from app.clock import Clock
from app.model import Strategy, Target
from backends.base import (
    Cluster,
    ClusterEvent,
    Deployment,
    Invalid,
    Lease,
    Metrics,
    NotFound,
    Route,
    Service,
    WatchEvent,
    WatchKind,
)
from backends.sim.behaviour import Behaviour, Effective
from backends.sim.defaults import service_of
from backends.sim.events import sim_event
from backends.sim.scenario import Event, Scenario
from backends.sim.state import SimDeployment, SimLease, SimRoute, SimService
from backends.sim.traffic import RING_SECONDS, Destination, Flow, TrafficGenerator


class Script(Protocol):
    """What plays the scenario's events, one simulated second at a time (`Director`)."""

    pending: list[Event]

    def step(self, t: float) -> None: ...
    def apply(self, event: Event) -> None: ...


class Stepper(Protocol):
    """Anything else that acts once per simulated second (`Looper`: release rounds)."""

    def step(self, t: float) -> None: ...


class NoScript:
    pending: list[Event] = []

    def step(self, t: float) -> None:
        return None

    def apply(self, event: Event) -> None:
        return None


EVENT_LIMIT = 500


class SimWorld:
    def __init__(self, clock: Clock, scenario: Scenario | None = None, seed: int | None = None) -> None:
        self.clock = clock
        self.scenario = scenario or Scenario()
        self.seed = self.scenario.seed if seed is None else seed
        self.start = clock.now()
        self.targets: list[Target] = []
        self.deployments: dict[tuple[str, str], SimDeployment] = {}
        self.services: dict[tuple[str, str], SimService] = {}
        self.routes: dict[tuple[str, str], SimRoute] = {}
        self.leases: dict[tuple[str, str], SimLease] = {}
        self.events: deque[ClusterEvent] = deque(maxlen=EVENT_LIMIT)
        self.behaviours: dict[str, Behaviour] = dict(self.scenario.behaviour)
        self.default_behaviour = Behaviour()
        self.first_served: dict[str, float] = {}  # image -> clock time it first served a request
        self.probes: dict[tuple[str, str, str], int] = {}  # (ns, deployment, image) -> health checks run
        self.rps: dict[str, float] = {}  # target name -> requests per second
        self.metrics_down = False
        self.cluster_down = False
        self.traffic = TrafficGenerator(self.seed)
        self.director: Script = NoScript()  # build_world hands in the scenario's director
        self.looper: Stepper | None = None  # and the release rounds of its `loop:` section, if any
        self._steps = 0  # whole seconds processed since `start`
        self._settled: float | None = None  # the clock time pods were last settled at
        self._published_ready: dict[tuple[str, str], int] = {}
        self._subscribers: list[tuple[str | None, asyncio.Queue[WatchEvent | None]]] = []
        self._versions = itertools.count(1)  # one resourceVersion sequence for every object, as etcd's
        # The world's own API server and metrics, built around it by `build_world`.
        self.cluster: Cluster
        self.metrics: Metrics

    def next_rv(self) -> int:
        """The next resourceVersion: increasing across every kind, so watch events have one order."""
        return next(self._versions)

    # ------------------------------------------------------------ time

    @property
    def now(self) -> float:
        return self.start + self._steps

    @property
    def elapsed(self) -> float:
        return self.clock.now() - self.start

    def tick(self, now: float) -> None:
        """Advance everything to clock time `now`, one simulated second at a time.

        A clock jump longer than the traffic ring (a suspended laptop) skips the
        seconds that could not be queried anyway; timed events still fire."""
        behind = int(now + 1e-9 - self.start) - self._steps
        if behind > RING_SECONDS:
            self._steps += behind - RING_SECONDS
            self._settle_pods(self.now)
        while self.start + self._steps + 1 <= now + 1e-9:
            self._steps += 1
            t = self.start + self._steps
            self._settle_pods(t)
            self.traffic.step(t, self.flows(t), self._behaviour_at(t))
            self.director.step(t)
            if self.looper is not None:
                self.looper.step(t)
        settle = max(now, self.now)
        if settle != self._settled:  # every call of one instant settles once (writes settle their own object)
            self._settle_pods(settle)
            self._settled = settle

    def sync(self) -> float:
        now = self.clock.now()
        self.tick(now)
        return now

    async def run(self) -> None:
        while True:
            self.tick(self.clock.now())
            await self.clock.sleep(1)

    def _settle_pods(self, now: float) -> None:
        for key, dep in self.deployments.items():
            if dep.quiet(now):  # no pod came ready since it was last settled, and no write since
                continue
            changed = dep.reconcile(now, self.behaviour(dep.image).ready_after)
            ready = dep.ready_count(now)
            if ready != self._published_ready.get(key):
                changed = True
                if ready == dep.replicas and dep.replicas > 0:
                    self.event(
                        dep.namespace,
                        f"Deployment/{dep.name}",
                        "RolloutComplete",
                        f"{ready}/{dep.replicas} pods of {dep.image} are ready",
                    )
            self._published_ready[key] = ready
            if changed:
                dep.rv = self.next_rv()
                self.emit("MODIFIED", "Deployment", dep.view(now))

    # ------------------------------------------------------------ behaviour and traffic

    def behaviour(self, image: str) -> Behaviour:
        if image in self.behaviours:
            return self.behaviours[image]
        for pattern, b in self.behaviours.items():
            if fnmatch.fnmatchcase(image, pattern):
                return b
        return self.default_behaviour

    def _behaviour_at(self, t: float) -> Callable[[str, str], Effective]:
        def effective(_namespace: str, image: str) -> Effective:
            first = self.first_served.setdefault(image, t)
            return self.behaviour(image).at(t - first)

        return effective

    def flows(self, now: float) -> list[Flow]:
        out = []
        for target in self.targets:
            rps = self.rps.get(target.name, 0.0)
            if rps <= 0:
                continue
            if target.strategy is Strategy.CANARY:
                route = self.routes.get((target.namespace, target.name))
                if route is None:
                    continue
                dests = tuple(
                    Destination(wl, wl, w, self._serving(target.namespace, wl, now))
                    for wl, w in route.weights.items()
                    if w > 0
                )
            else:
                svc = self.services.get((target.namespace, service_of(target)))
                if svc is None:
                    continue
                matched = [
                    d
                    for d in self.deployments.values()
                    if d.namespace == svc.namespace
                    and svc.selector
                    and all(d.labels.get(k) == v for k, v in svc.selector.items())
                ]
                ready = [(d, d.serving(now)) for d in matched]
                if any(sum(pods.values()) for _, pods in ready):
                    dests = tuple(Destination(d.name, svc.name, sum(p.values()), p) for d, p in ready if p)
                else:  # nothing ready behind the Service: every request meets no healthy upstream
                    name = matched[0].name if matched else "unknown"
                    dests = (Destination(name, svc.name, 1, {}),)
            if dests:
                out.append(Flow(target.name, target.namespace, rps, dests))
        return out

    def pending_events(self) -> int:
        """Timed scenario events still to come (conditional ones may never fire)."""
        return sum(1 for e in self.director.pending if e.at is not None)

    def rps_of(self, target: Target, window: float = 10.0) -> float:
        """Requests per second the target's workloads served over the last `window` seconds."""
        if target.strategy is Strategy.CANARY:
            workloads = {target.deployment, f"{target.deployment}-primary"}
        else:
            workloads = {f"{target.deployment}-blue", f"{target.deployment}-green"}
        end = self.now
        total = sum(self.traffic.recorder.window(target.namespace, wl, end - window, end).count for wl in workloads)
        return total / window if window > 0 else 0.0

    def _serving(self, namespace: str, workload: str, now: float) -> dict[str, int]:
        dep = self.deployments.get((namespace, workload))
        return dep.serving(now) if dep else {}

    def canary_weight(self, target: Target) -> int:
        route = self.routes.get((target.namespace, target.name))
        return route.weights.get(target.deployment, 0) if route else 0

    def active_color(self, target: Target) -> str:
        svc = self.services.get((target.namespace, service_of(target)))
        return svc.selector.get("version", "") if svc else ""

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise NotFound("sim", f"The sim world has no target named '{name}'.")

    # ------------------------------------------------------------ lookups

    def deployment(self, namespace: str, name: str) -> SimDeployment:
        try:
            return self.deployments[(namespace, name)]
        except KeyError:
            raise NotFound("sim", f"Deployment {namespace}/{name} does not exist in the sim cluster.") from None

    def service(self, namespace: str, name: str) -> SimService:
        try:
            return self.services[(namespace, name)]
        except KeyError:
            raise NotFound("sim", f"Service {namespace}/{name} does not exist in the sim cluster.") from None

    def route(self, namespace: str, name: str) -> SimRoute:
        try:
            return self.routes[(namespace, name)]
        except KeyError:
            raise NotFound("sim", f"Route {namespace}/{name} does not exist in the sim cluster.") from None

    # ------------------------------------------------------------ changes

    def add(self, obj: SimDeployment | SimService | SimRoute) -> None:
        key = (obj.namespace, obj.name)
        obj.rv = self.next_rv()
        if isinstance(obj, SimDeployment):
            if not obj.history:
                obj.record_revision(obj.image, self.clock.now())
            obj.reconcile(self.start, 0.0)  # the starting pods are ready from the start
            self.deployments[key] = obj
            self._published_ready[key] = obj.ready_count(self.start)
        elif isinstance(obj, SimService):
            self.services[key] = obj
        else:
            self.routes[key] = obj

    def set_image(self, namespace: str, name: str, container: str, image: str) -> SimDeployment:
        dep = self.deployment(namespace, name)
        if container != dep.container:
            raise Invalid(
                "sim", f"Deployment {namespace}/{name} has no container named '{container}' (it has '{dep.container}')."
            )
        if image == dep.image:
            return dep
        now = self.clock.now()
        old = dep.image
        dep.image = image
        dep.record_revision(image, now)
        self._changed(dep, now)
        self.event(
            namespace,
            f"Deployment/{name}",
            "ScalingReplicaSet",
            f"Updated {container} from {old} to {image} (revision {dep.revision})",
        )
        return dep

    def scale(self, namespace: str, name: str, replicas: int) -> SimDeployment:
        dep = self.deployment(namespace, name)
        if replicas < 0:
            raise Invalid("sim", f"Cannot scale deployment {namespace}/{name} to {replicas} replicas.")
        if replicas == dep.replicas:
            return dep
        verb = "up" if replicas > dep.replicas else "down"
        dep.replicas = replicas
        self._changed(dep, self.clock.now())
        self.event(
            namespace,
            f"Deployment/{name}",
            "ScalingReplicaSet",
            f"Scaled {verb} replica set {name}-{dep.revision} to {replicas}",
        )
        return dep

    def rollout_undo(self, namespace: str, name: str, to_revision: int | None = None) -> SimDeployment:
        dep = self.deployment(namespace, name)
        current = dep.revision
        if to_revision is None:
            older = [r for r in dep.history if r < current]
            if not older:
                raise Invalid("sim", f"Deployment {namespace}/{name} has no previous revision to roll back to.")
            to_revision = max(older)
        if to_revision not in dep.history:
            raise NotFound("sim", f"Deployment {namespace}/{name} has no revision {to_revision}.")
        image = dep.history[to_revision][0]
        if to_revision != current:
            now = self.clock.now()
            dep.image = image
            dep.record_revision(image, now)
            self._changed(dep, now)
        self.event(
            namespace,
            f"Deployment/{name}",
            "DeploymentRollback",
            f"Rolled back deployment {name} to revision {to_revision} ({image})",
        )
        return dep

    def _changed(self, dep: SimDeployment, now: float) -> None:
        dep.reconcile(now, self.behaviour(dep.image).ready_after)
        self._published_ready[(dep.namespace, dep.name)] = dep.ready_count(now)
        dep.rv = self.next_rv()
        self.emit("MODIFIED", "Deployment", dep.view(now))

    def patch_selector(self, namespace: str, name: str, selector: Mapping[str, str]) -> SimService:
        svc = self.service(namespace, name)
        merged = {**svc.selector, **{k: str(v) for k, v in selector.items()}}
        if merged != svc.selector:
            before = svc.selector
            svc.selector = merged
            svc.rv = self.next_rv()
            self.emit("MODIFIED", "Service", svc.view())
            self.event(
                namespace, f"Service/{name}", "SelectorChanged", f"Selector {_labels(before)} -> {_labels(merged)}"
            )
        return svc

    def set_weights(self, namespace: str, name: str, weights: Mapping[str, int]) -> SimRoute:
        route = self.route(namespace, name)
        clean = {str(k): int(v) for k, v in weights.items()}
        if any(v < 0 for v in clean.values()) or sum(clean.values()) != 100:
            raise Invalid(
                "sim", f"Route {namespace}/{name} weights must be non-negative and add up to 100, got {clean}."
            )
        if clean != route.weights:
            route.weights = clean
            route.rv = self.next_rv()
            self.emit("MODIFIED", "Route", route.view())
            split = ", ".join(f"{k} {v}%" for k, v in clean.items())
            self.event(namespace, f"Route/{name}", "WeightsChanged", f"Traffic split: {split}")
        return route

    def annotated(self, kind: str, namespace: str, name: str) -> SimDeployment | SimService | SimRoute:
        if kind == "Deployment":
            return self.deployment(namespace, name)
        if kind == "Service":
            return self.service(namespace, name)
        if kind == "Route":
            return self.route(namespace, name)
        raise Invalid("sim", f"The sim cluster keeps no annotations on kind '{kind}'.")

    def patch_annotations(self, kind: str, namespace: str, name: str, annotations: Mapping[str, str | None]) -> None:
        obj = self.annotated(kind, namespace, name)
        new = dict(obj.annotations)
        for k, v in annotations.items():
            if v is None:
                new.pop(k, None)
            else:
                new[k] = str(v)
        if new != obj.annotations:
            obj.annotations = new
            obj.rv = self.next_rv()
            if isinstance(obj, SimDeployment):
                self.emit("MODIFIED", "Deployment", obj.view(self.clock.now()))
            elif isinstance(obj, SimService):
                self.emit("MODIFIED", "Service", obj.view())
            else:
                self.emit("MODIFIED", "Route", obj.view())

    def probe(self, namespace: str, name: str, path: str = "/health") -> tuple[bool, str]:
        now = self.clock.now()
        dep = self.deployment(namespace, name)
        ready = dep.ready_count(now)
        if ready == 0:
            return False, f"{name}: no ready pod to run GET {path} against ({ready}/{dep.replicas} ready)"
        key = (namespace, name, dep.image)
        n = self.probes[key] = self.probes.get(key, 0) + 1
        failures = self.behaviour(dep.image).health_failures
        if n <= failures:
            self.event(
                namespace,
                f"Deployment/{name}",
                "Unhealthy",
                f"GET {path} failed with HTTP 503 (check {n} of the first {failures} that fail)",
                "Warning",
                "kubelet",
            )
            return False, f"{name} ({dep.image}): GET {path} returned HTTP 503"
        return True, f"{name} ({dep.image}): GET {path} returned HTTP 200 from {ready}/{dep.replicas} ready pods"

    # ------------------------------------------------------------ events and watches

    def event(
        self,
        namespace: str,
        obj: str,
        reason: str,
        message: str,
        type: Literal["Normal", "Warning"] = "Normal",
        controller: str = "",
    ) -> None:
        """An Event about `obj` ("Kind/name"), delivered to the watches as the API server keeps it: the same
        reason and message again on the same object counts up (a series) instead of adding another."""
        ev, replaced = sim_event(self.events, namespace, obj, reason, message, type, controller, self.clock.now(), self)
        if replaced is not None:
            self.events.remove(replaced)
        self.events.append(ev)
        self.emit("MODIFIED" if replaced else "ADDED", "Event", ev)

    def emit(
        self,
        type: Literal["ADDED", "MODIFIED", "DELETED"],
        kind: WatchKind,
        obj: Deployment | Service | Route | Lease | ClusterEvent,
    ) -> None:
        ev = WatchEvent(type=type, kind=kind, object=obj)
        for namespace, queue in self._subscribers:
            if namespace is None or namespace == obj.namespace:
                queue.put_nowait(ev)

    def subscribe(self, namespace: str | None) -> asyncio.Queue[WatchEvent | None]:
        queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._subscribers.append((namespace, queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[WatchEvent | None]) -> None:
        self._subscribers = [(ns, q) for ns, q in self._subscribers if q is not queue]

    def set_cluster_down(self, down: bool) -> None:
        if down == self.cluster_down:
            return
        self.cluster_down = down
        if down:
            for _, queue in self._subscribers:
                queue.put_nowait(None)  # breaks every open watch, as a dropped connection does


def _labels(selector: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items()) or "(none)"
