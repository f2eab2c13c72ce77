"""Backend protocols: all I/O Shiftroom does goes through one of these.

They are shaped for the real implementations (Kubernetes via
kubernetes-asyncio, Prometheus over HTTP, Redis) as much as for the embedded
simulator:

- objects carry a `resource_version`; writes that pass one fail with
  `Conflict` when the object changed meanwhile (optimistic concurrency);
- every backend has a `read_only` flag and then refuses writes with `ReadOnly`
  — read-only is a property of the backend, not of the key bindings;
- a failure a user can meet is a `BackendError` whose `str()` is one sentence
  naming the backend and what to do; metric queries return errors as values
  (`MetricSample.status`), because "no data" is an analysis input, not a crash;
- the cluster offers a watch stream of changes, so real clusters are watched,
  not polled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from app.cluster_event import ClusterEvent as ClusterEvent
from app.model import AuditEvent, Experiment, Flag, MetricCheck, MetricSample, Target, Webhook

# ---------------------------------------------------------------- errors


class BackendError(Exception):
    """A failure a user can meet; `str(err)` is one sentence for the screen."""

    def __init__(self, backend: str, sentence: str) -> None:
        super().__init__(sentence)
        self.backend = backend
        self.sentence = sentence


class Unavailable(BackendError):
    """The backend cannot be reached (refused, timeout, 5xx): transient."""


class NotFound(BackendError):
    pass


class Conflict(BackendError):
    """The object changed since it was read (resourceVersion / WATCH mismatch)."""


class LeaseHeld(Conflict):
    """A Lease another room holds and has not let run out: `holder` names that room."""

    def __init__(self, backend: str, sentence: str, holder: str) -> None:
        super().__init__(backend, sentence)
        self.holder = holder


class ReadOnly(BackendError):
    """A write was attempted on a read-only backend."""


class Invalid(BackendError):
    """The stored data or the request is malformed."""


# ---------------------------------------------------------------- cluster objects


class Obj(BaseModel):
    model_config = ConfigDict(frozen=True)


class Deployment(Obj):
    name: str
    namespace: str
    image: str
    container: str = "app"
    replicas: int = 0
    ready_replicas: int = 0
    revision: int = 1
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    resource_version: str = "1"

    @property
    def ready(self) -> bool:
        return self.ready_replicas >= self.replicas


class Revision(Obj):
    """A ReplicaSet as `kubectl rollout history` shows it: revision → pod template."""

    deployment: str
    namespace: str
    revision: int
    image: str
    created: float = 0.0


class Service(Obj):
    name: str
    namespace: str
    selector: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    resource_version: str = "1"


class Route(Obj):
    """A weighted router (Istio VirtualService, HTTPRoute, SMI TrafficSplit...)."""

    name: str
    namespace: str
    weights: dict[str, int] = Field(default_factory=dict)  # destination workload → percent
    annotations: dict[str, str] = Field(default_factory=dict)
    resource_version: str = "1"


class Lease(Obj):
    name: str
    namespace: str
    holder: str = ""
    renewed: float = 0.0
    duration: float = 15.0
    resource_version: str = "1"

    def held_by_other(self, me: str, now: float) -> bool:
        return bool(self.holder) and self.holder != me and now < self.renewed + self.duration


class ForeignObject(Obj):
    """An object Shiftroom shows but another controller owns (Flagger `Canary`, Argo `Rollout`,
    `AnalysisRun`, `MetricTemplate`...): kept as the API server returned it."""

    api_version: str
    kind: str
    name: str
    namespace: str
    body: dict[str, Any] = Field(default_factory=dict)
    resource_version: str = "1"


WatchKind = Literal["Deployment", "Service", "Route", "Lease", "Foreign", "Event"]


class WatchEvent(Obj):
    """One change seen by a cluster watch.

    A watch behaves like a Kubernetes informer: after (re)connecting it sends
    `RESET` (forget what you hold for `kind`; `kind=None` means every kind), then
    an `ADDED` per existing object (the list), then `SYNCED` once the list is
    complete, then changes in resourceVersion order. A broken stream ends with `Unavailable`; the caller
    opens a new watch, which starts with `RESET` again. `DENIED` (kind "Event"): this identity may not list
    or watch that kind here (a 403); it is tried again slowly, and a later list without `DENIED` lifts it."""

    type: Literal["ADDED", "MODIFIED", "DELETED", "RESET", "SYNCED", "DENIED"]
    kind: WatchKind | None = None
    object: Deployment | Service | Route | Lease | ForeignObject | ClusterEvent | None = None


Kind = Literal["Deployment", "Service", "Route"]


# ---------------------------------------------------------------- protocols


@runtime_checkable
class Backend(Protocol):
    name: str  # shown in the header: "sim", "kubernetes", "prometheus", "redis"
    read_only: bool

    async def ping(self) -> None:
        """Raise `BackendError` when the backend is not usable right now."""


@runtime_checkable
class Cluster(Backend, Protocol):
    async def list_deployments(self, namespace: str | None = None) -> list[Deployment]: ...
    async def get_deployment(self, namespace: str, name: str) -> Deployment: ...
    async def set_image(self, namespace: str, name: str, container: str, image: str) -> Deployment: ...
    async def scale(self, namespace: str, name: str, replicas: int) -> Deployment: ...
    async def revisions(self, namespace: str, name: str) -> list[Revision]: ...
    async def rollout_undo(self, namespace: str, name: str, to_revision: int | None = None) -> Deployment:
        """Roll the pod template back to `to_revision` (default: the previous one)."""

    async def get_service(self, namespace: str, name: str) -> Service: ...
    async def patch_selector(
        self, namespace: str, name: str, selector: Mapping[str, str], resource_version: str | None = None
    ) -> Service: ...

    async def get_route(self, namespace: str, name: str) -> Route: ...
    async def set_weights(
        self, namespace: str, name: str, weights: Mapping[str, int], resource_version: str | None = None
    ) -> Route: ...

    async def get_annotations(self, kind: Kind, namespace: str, name: str) -> dict[str, str]: ...
    async def patch_annotations(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        annotations: Mapping[str, str | None],
        resource_version: str | None = None,
    ) -> None:
        """Set (or, with None, remove) annotations: where controller state lives."""

    async def acquire_lease(self, namespace: str, name: str, holder: str, duration: float) -> Lease:
        """Take or renew the lease; raise `LeaseHeld` when another live holder has it (`Conflict` when
        another room wrote it first and its holder is not known)."""

    async def release_lease(self, namespace: str, name: str, holder: str) -> None: ...
    async def get_lease(self, namespace: str, name: str) -> Lease | None: ...

    async def probe(self, namespace: str, deployment: str, path: str = "/health") -> tuple[bool, str]:
        """One health check against the deployment's pods (the seed's `kubectl exec ... curl -f`):
        (passed, one-line detail)."""

    async def events(self, namespace: str | None = None, since: float = 0.0) -> list[ClusterEvent]: ...
    def watch(self, namespace: str | None = None) -> AsyncIterator[WatchEvent]: ...


@runtime_checkable
class ClosableStream(Protocol):
    """A watch stream that can be closed early (async generators, the simulator's watch)."""

    async def aclose(self) -> None: ...


@runtime_checkable
class Metrics(Backend, Protocol):
    async def query(
        self, check: MetricCheck, targets: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], MetricSample]:
        """One reading of `check` for every (namespace, workload) — batched: one
        query per metric, not one per target. Failures come back as samples
        with status NO_DATA or ERROR, never as exceptions."""

    async def history(
        self, check: MetricCheck, target: tuple[str, str], start: float, end: float, step: float
    ) -> list[tuple[float, float | None]]: ...


@runtime_checkable
class Store(Backend, Protocol):
    """Feature flags and experiments in the seed's Redis layout."""

    async def list_flags(self) -> list[Flag]: ...
    async def get_flag_raw(self, name: str) -> tuple[dict[str, Any] | None, str]:
        """The stored JSON object and a version token for `put_flag_raw`."""

    async def put_flag_raw(self, name: str, config: Mapping[str, Any], expected_version: str | None) -> str:
        """Write unless the flag changed since `expected_version` (raise `Conflict`)."""

    async def list_experiments(self) -> list[Experiment]: ...


@runtime_checkable
class AuditLog(Backend, Protocol):
    async def append(self, event: AuditEvent) -> None: ...
    async def recent(self, limit: int = 200) -> list[AuditEvent]: ...


@runtime_checkable
class Notifier(Protocol):
    async def notify(self, event: AuditEvent) -> None: ...


# ---------------------------------------------------------------- optional capabilities
# Checked once, at wiring time, with isinstance(); never probed with hasattr.


@runtime_checkable
class Webhooks(Protocol):
    """Flagger-compatible webhooks: POST the payload, 2xx = pass."""

    async def call(self, hook: Webhook, payload: dict[str, Any]) -> tuple[bool, str]:
        """(passed, one-line detail); never raises."""
        ...


@runtime_checkable
class MetricTemplates(Protocol):
    """A metrics backend that takes more named queries while it runs (a Flagger MetricTemplate's PromQL,
    keyed by `MetricCheck.template`); a name it already has is replaced."""

    def add_queries(self, queries: Mapping[str, str]) -> None: ...


@runtime_checkable
class ChangeFeed(Protocol):
    """A store that tells when flags or experiments change (Redis keyspace events or polling)."""

    def watch_changes(self) -> AsyncIterator[Any]: ...


@runtime_checkable
class ExperimentWrites(Protocol):
    async def get_experiment_raw(self, experiment_id: str) -> tuple[dict[str, Any] | None, str]: ...
    async def put_experiment_raw(
        self, experiment_id: str, config: Mapping[str, Any], expected_version: str | None
    ) -> str: ...


@runtime_checkable
class AuditedWrites(Protocol):
    """A store that writes a value and its audit entry in one transaction (Redis MULTI + XADD)."""

    async def put_flag_audited(
        self, name: str, config: Mapping[str, Any], expected_version: str | None, event: AuditEvent
    ) -> str: ...
    async def put_experiment_audited(
        self, experiment_id: str, config: Mapping[str, Any], expected_version: str | None, event: AuditEvent
    ) -> str: ...


@runtime_checkable
class DurableAudit(Protocol):
    """An audit log kept somewhere that can be down (Redis, not memory): while it is, its entries wait in a
    local spool of its own, named after `destination` (where the entries go), so they are only ever replayed
    into the log they were meant for."""

    @property
    def destination(self) -> str: ...


@runtime_checkable
class AuditFeed(Protocol):
    """An audit log that tells of entries as anyone appends them (other rooms, the world's own controller),
    from when `follow` is first called; a broken feed raises `BackendError`, and calling `follow` again
    resumes after the last entry it yielded."""

    def follow(self) -> AsyncIterator[AuditEvent]: ...


@runtime_checkable
class OnceAudit(Protocol):
    """An audit log that appends an entry only if no entry with the same delivery id was appended before,
    atomically: a spool replayed again after a crash between the write and the local mark delivers nothing twice."""

    async def append_once(self, event: AuditEvent, uid: str) -> bool:
        """True when it was appended now, False when `uid` had been delivered already."""
        ...


@runtime_checkable
class UserSampler(Protocol):
    """A store that can name some user ids it has seen (for cohort previews)."""

    async def sample_user_ids(self, limit: int = 10_000) -> list[str]: ...


@runtime_checkable
class CounterRebuild(Protocol):
    """A store whose experiment counters can be recounted from the seed's own event lists."""

    async def needs_rebuild(self, experiment_id: str) -> bool: ...
    async def rebuild_counters(self, experiment_id: str, progress: Callable[[int, int], None] | None = None) -> Any: ...


@runtime_checkable
class ObjectWrites(Protocol):
    """A cluster that patches any object (Flagger / Argo Rollouts objects) and reaches pods and
    services through the API server's proxy subresource."""

    async def patch_object(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Any,
        patch_type: Literal["merge", "json", "strategic"],
        resource_version: str | None = None,
        subresource: str = "",
    ) -> ForeignObject:
        """Patch the object (or its `subresource`, e.g. Argo's `status`) with the given content type;
        a `bytes` patch is sent as it is (another tool's exact request); with `resource_version` a
        changed object is `Conflict`; `NotFound` when absent."""
        ...

    async def proxy(
        self,
        namespace: str,
        kind: Literal["pods", "services"],
        name: str,
        port: int | str,
        path: str,
        method: str = "GET",
        body: Any = None,
    ) -> tuple[int, str]:
        """(HTTP status, body text) of a request through `<kind>/<name>:<port>/proxy/<path>`."""
        ...


@runtime_checkable
class EventWrites(Protocol):
    """A cluster that records an `events.k8s.io/v1` Event on any object (reporting controller
    `shiftroom.io/room`), so `kubectl describe` tells the room's decisions too."""

    async def record_object_event(
        self, api_version: str, kind: str, namespace: str, name: str, action: str, note: str, warning: bool = False
    ) -> None: ...


@runtime_checkable
class RawValues(Protocol):
    """A store that hands out and takes the stored bytes as they are, so an edit can keep every byte it
    does not change (unknown fields, odd escapes, nesting no parser reads). `event`, when given, is
    written in the same transaction (only by stores that are also `AuditedWrites`)."""

    async def get_flag_bytes(self, name: str) -> tuple[bytes | None, str]: ...
    async def put_flag_bytes(
        self, name: str, value: bytes, expected_version: str | None, event: AuditEvent | None = None
    ) -> str: ...
    async def get_experiment_bytes(self, experiment_id: str) -> tuple[bytes | None, str]: ...
    async def put_experiment_bytes(
        self, experiment_id: str, value: bytes, expected_version: str | None, event: AuditEvent | None = None
    ) -> str: ...


# ---------------------------------------------------------------- permissions and bootstrap


class AccessCheck(Obj):
    """One write the room may make, asked before it is offered: `verb` on an object of `kind` in `namespace`.

    `kind` is "Deployment", "Service", "Route" (the router object of canary target `target`), "Lease",
    "Event", or another controller's kind ("Rollout", "Canary") with its `api_version`; `sub` a subresource
    ("scale", "status", "proxy")."""

    verb: str  # "patch", "create", "update"
    kind: str
    namespace: str
    sub: str = ""
    target: str = ""  # Route: the canary target's name (its router decides the resource)
    api_version: str = ""  # other controllers' kinds


class AccessAnswer(Obj):
    allowed: bool
    resource: str = ""  # as `shiftroom doctor` and a 403 name it: "services", "deployments.apps/scale"
    sentence: str = ""  # when not allowed: the sentence a 403 of that request gets (verb, resource, namespace, who)


@runtime_checkable
class AccessReview(Protocol):
    """A cluster that says, before anything is tried, whether this identity may make a write
    (Kubernetes: one SelfSubjectAccessReview per distinct verb, resource and namespace)."""

    async def review_access(self, checks: Sequence[AccessCheck]) -> dict[AccessCheck, AccessAnswer]:
        """An answer for every check it can judge (a check it cannot resolve is left out: not refused)."""
        ...


class LayoutPart(Obj):
    """One object of a canary target's layout (Flagger's: `<d>`, `<d>-primary`, the Services, the route),
    named the way the object cache keys it."""

    kind: Kind
    namespace: str
    name: str  # a Route is keyed by its target's name
    label: str  # as the room says it: "Deployment shop/api-primary", "VirtualService shop/api"
    required: bool = True  # the controller reads it: without it the target cannot be driven


class BootstrapStep(Obj):
    """One write of a canary bootstrap: create an object (`body`) or scale the target deployment."""

    verb: Literal["create", "scale"]
    api_version: str
    kind: str
    namespace: str
    name: str
    line: str  # what the preview shows
    body: dict[str, Any] = Field(default_factory=dict)
    replicas: int = 0


class BootstrapPlan(Obj):
    steps: tuple[BootstrapStep, ...] = ()
    source_version: str = ""  # the resourceVersion of the target deployment the plan was made from


@runtime_checkable
class CanaryBootstrap(Protocol):
    """A cluster that creates Flagger's layout around a canary target's existing deployment; it only ever
    creates what is missing (and scales the target deployment to 0), never replaces or deletes."""

    def canary_layout(self, target: Target) -> list[LayoutPart]:
        """The objects the target's layout is made of (no I/O); [] when the cluster does not route it."""
        ...

    async def plan_bootstrap(self, target: Target) -> BootstrapPlan:
        """What bootstrapping would write now (no steps when the layout is complete)."""
        ...

    async def apply_bootstrap(self, plan: BootstrapPlan) -> list[str]:
        """Write the plan; one line per step (an object someone created meanwhile is left as it is)."""
        ...
