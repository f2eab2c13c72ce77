"""Domain types shared by everything in Shiftroom.

No I/O and no Textual here: the engine, the controllers, the backends, the
headless CLI and the widgets all speak these types. Every model is frozen; a
`RoomState` is an immutable snapshot the UI renders as it is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.cluster_event import ClusterEvent

# Re-exported: every module names the enumerations from here; app.enums holds them free of pydantic.
from app.enums import HealthStatus as HealthStatus
from app.enums import HookType as HookType
from app.enums import Level as Level
from app.enums import Mode as Mode
from app.enums import Phase as Phase
from app.enums import SampleStatus as SampleStatus
from app.enums import Strategy as Strategy


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------- rollouts


class Weights(Frozen):
    """Traffic split between the stable (primary) and the canary, in percent."""

    stable: int = 100
    canary: int = 0

    @model_validator(mode="after")
    def _sum_to_100(self) -> Weights:
        if self.stable < 0 or self.canary < 0 or self.stable + self.canary != 100:
            raise ValueError(f"weights must be non-negative and add up to 100, got {self.stable}/{self.canary}")
        return self

    @classmethod
    def of_canary(cls, canary: int) -> Weights:
        canary = max(0, min(100, int(canary)))
        return cls(stable=100 - canary, canary=canary)


class MetricCheck(Frozen):
    """One metric of a canary analysis, with Flagger's `thresholdRange`."""

    name: str
    min: float | None = None
    max: float | None = None
    critical_min: float | None = None
    critical_max: float | None = None
    interval: str = "1m"
    unit: str = ""
    template: str | None = None  # name of a metric template; defaults to `name`

    def passes(self, value: float | None) -> bool:
        """No data is a failure: a check can only pass on a number in range."""
        if value is None or value != value:  # None or NaN
            return False
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        return True

    def critical(self, value: float | None) -> bool:
        if value is None or value != value:
            return False
        if self.critical_min is not None and value < self.critical_min:
            return True
        if self.critical_max is not None and value > self.critical_max:
            return True
        return False

    @property
    def range_text(self) -> str:
        lo = "" if self.min is None else f"≥ {self.min:g}"
        hi = "" if self.max is None else f"≤ {self.max:g}"
        return " ".join(p for p in (lo, hi) if p) or "any"


class Webhook(Frozen):
    """A Flagger webhook: POSTed with Flagger's payload; 2xx = pass."""

    name: str
    type: HookType = HookType.ROLLOUT
    url: str
    timeout: float = 10.0
    metadata: dict[str, str] = Field(default_factory=dict)


class Analysis(Frozen):
    """Flagger's `spec.analysis`, in seconds."""

    interval: float = 30.0
    threshold: int = 5
    max_weight: int = 50
    step_weight: int = 10
    step_weights: tuple[int, ...] = ()
    metrics: tuple[MetricCheck, ...] = ()
    webhooks: tuple[Webhook, ...] = ()

    def hooks(self, kind: HookType) -> tuple[Webhook, ...]:
        return tuple(h for h in self.webhooks if h.type is kind)

    @property
    def steps(self) -> tuple[int, ...]:
        """Every canary weight the analysis walks through, in order."""
        if self.step_weights:
            return tuple(w for w in self.step_weights if w <= self.max_weight) or (self.max_weight,)
        if self.step_weight <= 0:
            return (self.max_weight,)
        return tuple(range(self.step_weight, self.max_weight + 1, self.step_weight)) or (self.max_weight,)


class BlueGreen(Frozen):
    """The blue-green procedure of the seed's script, with its knobs."""

    health_checks: int = 10
    health_interval: float = 5.0
    progress_deadline: float = 300.0
    stabilize: float = 30.0
    scale_down_delay: float = 300.0


class GuardSpec(Frozen):
    """The seed's auto-rollback watch after a rollout: breach = `rollout undo`."""

    enabled: bool = True
    window: float = 300.0
    interval: float = 30.0
    error_rate_max: float = 5.0  # percent
    latency_max: float = 1000.0  # ms, p99

    @property
    def checks(self) -> tuple[MetricCheck, ...]:
        return (
            MetricCheck(name="error-rate", max=self.error_rate_max, unit="%"),
            MetricCheck(name="request-duration", max=self.latency_max, unit="ms"),
        )


class Target(Frozen):
    """Something Shiftroom drives: a canary or a blue-green pair."""

    name: str
    namespace: str = "default"
    strategy: Strategy = Strategy.CANARY
    deployment: str = ""  # canary: the target deployment; blue-green: prefix of <name>-blue / <name>-green
    service: str = ""
    container: str = "app"
    replicas: int = 3
    production: bool = False
    analysis: Analysis = Analysis()
    blue_green: BlueGreen = BlueGreen()
    guard: GuardSpec = GuardSpec()
    #: How traffic is split on a real cluster: "service" (blue-green selector), "istio"
    #: (VirtualService), "gateway-api" (HTTPRoute), "nginx" (canary Ingress), "smi"
    #: (TrafficSplit); "" lets the cluster backend choose (the simulator has its own router).
    router: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


class Check(Frozen):
    """One metric check of one analysis tick, with where its number came from."""

    name: str
    value: float | None
    passed: bool
    critical: bool = False
    status: str = "ok"
    error: str = ""
    query: str = ""
    range: str = ""


class ReplicaSetRow(Frozen):
    """One ReplicaSet of a rollout another controller drives (Argo Rollouts), as its own tool lists it."""

    name: str
    revision: int = 0
    tags: tuple[str, ...] = ()  # "stable", "canary", "active", "preview" (kubectl argo rollouts get's info column)
    status: str = ""  # Healthy, Progressing, ScaledDown, ReplicaFailure
    images: tuple[str, ...] = ()
    ready: int = 0  # status.readyReplicas
    desired: int = 0  # spec.replicas


class Rollout(Frozen):
    """What the room shows about one target at one instant."""

    name: str
    namespace: str = "default"
    strategy: Strategy = Strategy.CANARY
    phase: Phase = Phase.INITIALIZED
    paused: bool = False
    auto: bool = True
    production: bool = False
    desired: Weights = Weights()
    actual: Weights = Weights()
    step: int = 0
    steps: int = 0
    failed_checks: int = 0
    threshold: int = 0
    stable_image: str = ""
    canary_image: str = ""
    active_color: str = ""  # blue-green: colour the Service selects
    ready: str = ""  # "3/3" replicas ready of the rolling side
    message: str = ""  # last decision or reason, one sentence
    driver: str = ""  # who holds the lease ("" when nobody drives it)
    next_tick: float | None = None  # clock time of the next analysis tick
    earliest_rollback: float | None = None  # soonest an automatic rollback could happen
    checks: tuple[Check, ...] = ()  # the last tick's checks
    history: tuple[bool, ...] = ()  # pass/fail of recent ticks, oldest first
    stage: str = ""  # blue-green: the step of the procedure in progress
    guard_until: float | None = None  # the post-rollout guard watches until then
    driven_by: str = "shiftroom"  # "shiftroom", "flagger" or "argo": whose controller drives it
    decision: str = ""  # the last analysis decision with its numbers; mode changes never replace it
    replica_sets: tuple[ReplicaSetRow, ...] = ()  # Argo Rollouts: its ReplicaSets, newest revision first
    aborted: bool = False  # Argo Rollouts: status.abort (what `retry` undoes)
    gates: tuple[str, ...] = ()  # Flagger: the load tester gates its webhooks ask ("promotion", "rollback")
    #: Flagger: gate kind → "<namespace>/<service>" of the load tester it is driven through (services/proxy)
    gate_services: dict[str, str] = Field(default_factory=dict)
    #: Actions this identity may not take on this row: verb ("switch", "pause", "bootstrap"...) → the
    #: sentence a 403 would get. The room shows those keys disabled with it, the engine refuses them.
    denied: dict[str, str] = Field(default_factory=dict)
    #: Objects of the target's layout that are missing ("Deployment shop/api-primary"...): it needs a bootstrap.
    needs_bootstrap: tuple[str, ...] = ()
    events: tuple[ClusterEvent, ...] = ()  # the cluster's recent Events on the target's objects, newest first
    events_unseen: str = ""  # why its Events cannot be shown (this identity may not list them there), or ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


# ---------------------------------------------------------------- metrics


class MetricSample(Frozen):
    """One reading of one metric for one target; errors are values, not exceptions."""

    t: float
    value: float | None
    status: SampleStatus = SampleStatus.OK
    error: str = ""
    query: str = ""

    @property
    def ok(self) -> bool:
        return self.status is SampleStatus.OK and self.value is not None


class MetricSeries(Frozen):
    """A metric's recent history for one target, oldest first."""

    target: str
    name: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    times: tuple[float, ...] = ()
    values: tuple[float | None, ...] = ()
    source: str = ""  # the query or the simulator series it came from

    @property
    def current(self) -> float | None:
        return self.values[-1] if self.values else None

    def in_range(self, value: float | None) -> bool:
        return MetricCheck(name=self.name, min=self.min, max=self.max).passes(value)


class MetricHistory(Frozen):
    """A metric's whole life for one target, in time buckets (`app.history.History`), oldest first:
    each point is the middle of a bucket and the mean of its values (None: no data in it)."""

    target: str
    name: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    bucket: float = 0.0  # seconds per bucket now (it doubles as the life grows)
    times: tuple[float, ...] = ()
    values: tuple[float | None, ...] = ()


class DecisionMark(Frozen):
    """An analysis decision to draw on a target's charts (step, failed check, rollback, promotion...)."""

    target: str
    t: float
    kind: str
    label: str = ""


# ---------------------------------------------------------------- flags and experiments


class Flag(Frozen):
    """A feature flag as stored by the seed's flag service (`feature:<name>`)."""

    name: str
    enabled: bool = False
    environments: tuple[str, ...] | None = None
    user_whitelist: tuple[str, ...] = ()
    percentage: float = 0
    public: dict[str, Any] = Field(default_factory=dict)
    bucketing: str = "seed"  # "seed" (user id only) or "flag-salted"
    error: str = ""  # set when the stored value is not valid flag JSON

    @property
    def valid(self) -> bool:
        return not self.error


class VariantStats(Frozen):
    name: str
    weight: float = 0  # configured share of traffic, percent
    users: int = 0
    converters: int = 0

    @property
    def rate(self) -> float | None:
        return self.converters / self.users if self.users else None


class ExperimentPoint(Frozen):
    """The per-variant counts of an experiment at one instant (for cumulative plots)."""

    t: float
    variants: tuple[VariantStats, ...] = ()


class Experiment(Frozen):
    """An A/B experiment in the seed's layout (`experiment:<id>`)."""

    id: str
    name: str = ""
    status: str = "draft"
    primary_metric: str = ""
    traffic_split: dict[str, float] = Field(default_factory=dict)
    variants: tuple[VariantStats, ...] = ()
    duration_days: float = 0
    min_sample_size: int = 0
    elapsed_days: float = 0  # since the first assignment, when the store knows it
    error: str = ""
    history: tuple[ExperimentPoint, ...] = ()  # filled by the engine, oldest first
    needs_rebuild: bool = False  # the seed's own events are there but not counted yet (Redis)

    @property
    def users(self) -> int:
        return sum(v.users for v in self.variants)


# ---------------------------------------------------------------- audit and health


class AuditEvent(Frozen):
    """Every action and every automatic decision: who, when, what changed, why."""

    t: float
    actor: str
    target: str
    action: str
    reason: str = ""
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
    level: Level = Level.INFO
    verified: bool | None = None  # with audit.key_file: signed, intact and in the chain; None: not checked


class BackendHealth(Frozen):
    name: str  # "cluster", "metrics", "store"...
    kind: str = ""  # "sim", "kubernetes", "prometheus", "redis"
    status: HealthStatus = HealthStatus.UP
    reason: str = ""
    since: float = 0.0


class Job(Frozen):
    """A long job the engine runs (a counter rebuild, a bootstrap): any screen or verb can show it."""

    id: str
    kind: str  # "rebuild", ...
    target: str
    status: str = "running"  # "running", "done", "failed", "cancelled"
    done: int = 0
    total: int | None = None
    message: str = ""
    started: float = 0.0
    ended: float | None = None

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


class RoomState(Frozen):
    """One immutable snapshot of everything the room shows."""

    t: float = 0.0
    seq: int = 0
    context: str = "sim"
    cluster: str = ""  # the kubeconfig cluster of the context ("" for the simulator)
    identity: str = ""  # who the API server says we are (SelfSubjectReview)
    namespace: str = "all"
    mode: Mode = Mode.DEMO
    scenario: str = ""
    rollouts: tuple[Rollout, ...] = ()
    series: tuple[MetricSeries, ...] = ()
    flags: tuple[Flag, ...] = ()
    experiments: tuple[Experiment, ...] = ()
    events: tuple[AuditEvent, ...] = ()
    health: tuple[BackendHealth, ...] = ()
    jobs: tuple[Job, ...] = ()
    invalid_flags: int = 0  # stored flags listed with an error (shown in the header)
    invalid_experiments: int = 0
    audit_queued: int = 0  # audit entries spooled locally, waiting for the audit backend
    histories: tuple[MetricHistory, ...] = ()  # whole-life metric histories, for the charts
    marks: tuple[DecisionMark, ...] = ()  # decisions per target, oldest first, for the charts

    def rollout(self, key: str) -> Rollout | None:
        return next((r for r in self.rollouts if r.key == key or r.name == key), None)

    def series_for(self, key: str) -> tuple[MetricSeries, ...]:
        return tuple(s for s in self.series if s.target == key)

    def history_of(self, key: str, name: str) -> MetricHistory | None:
        return next((h for h in self.histories if h.target == key and h.name == name), None)

    def marks_for(self, key: str) -> tuple[DecisionMark, ...]:
        return tuple(m for m in self.marks if m.target == key)
