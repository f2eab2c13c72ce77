"""The room on a real cluster: a `KubeCluster` from kubeconfig, Prometheus / Redis from the config,
and the engine over them — the live counterpart of `app.factory.make_demo`.

`preflight()` runs before any screen appears (its own event loop): it connects, asks
the API server who we are (SelfSubjectReview) and which Flagger Canaries exist, so a
missing kubeconfig or an unreachable cluster is one sentence on the terminal.
`build()` then makes the engine; every network client inside is created lazily in the
loop that runs the room.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from app.canary_spec import CanarySpecError, canary_to_target
from app.clock import Clock, RealClock
from app.model import AuditEvent, Level, MetricCheck, MetricSample, Mode, SampleStatus, Strategy, Target

if TYPE_CHECKING:
    from app.config import Config
    from app.control.engine import Engine
    from backends.kubernetes.client import Where
    from backends.kubernetes.cluster import KubeCluster


class LiveError(Exception):
    """One sentence: why the live room cannot open."""


class LiveSetupError(LiveError):
    """What was given cannot even be tried: no kubeconfig, an unknown context, a broken kubeconfig or Canary file."""


@dataclass
class LiveOptions:
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False
    read_only: bool = False
    prometheus: Any = None  # PrometheusConfig | None (flags already applied)
    redis_url: str | None = None
    only_get: bool = False  # send GETs only: no SelfSubjectReview (the identity stays unknown); with read_only


@dataclass
class Preflight:
    """What the connection told us before the room opens."""

    configuration: Any
    where: Where
    identity: str
    targets: list[Target]
    flagger_driven: set[str] = field(default_factory=set)  # target keys a Flagger Canary in the cluster owns
    namespaces: list[str] | None = None  # None: all namespaces
    production: bool = False
    read_only_reason: str = ""  # set when the identity may not make the writes driving needs


def is_production(context: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(context, p) for p in patterns)


def config_targets(config: Config, production: bool) -> list[Target]:
    """`targets:` of shiftroom.yaml as `Target`s (Canary manifests converted as they are)."""
    from app.config import CanaryTarget

    base = Path(config.source).parent if config.source else Path.cwd()
    out: list[Target] = []
    for i, entry in enumerate(config.targets):
        target = _canary_target(config, entry, i, base) if isinstance(entry, CanaryTarget) else entry
        out.append(target.model_copy(update={"production": True}) if production else target)
    return out


def _canary_target(config: Config, entry: Any, i: int, base: Path) -> Target:
    source = f"{config.source or 'config'}: targets[{i}]"
    doc: Any = entry.canary
    if entry.canary_file:
        path = (base / entry.canary_file).expanduser()
        source = str(path)
        doc = _read_yaml(path, i)
    try:
        return canary_to_target(doc, source, entry.namespace, entry.production).target
    except CanarySpecError as err:
        raise LiveSetupError(str(err)) from None


def _read_yaml(path: Path, i: int) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LiveSetupError(f"targets[{i}].canary_file {path}: {(exc.strerror or str(exc)).lower()}.") from None
    except yaml.YAMLError as exc:
        raise LiveSetupError(f"{path} is not valid YAML: {' '.join(str(exc).split())[:200]}.") from None


def flagger_driven(targets: Sequence[Target], canaries: Sequence[dict[str, Any]]) -> set[str]:
    """Keys of canary targets whose deployment is the targetRef of a Flagger Canary in the cluster."""
    refs = set()
    for c in canaries:
        md, spec = c.get("metadata") or {}, c.get("spec") or {}
        ref = spec.get("targetRef") or {}
        if isinstance(md, dict) and isinstance(ref, dict) and ref.get("name"):
            refs.add((str(md.get("namespace") or ""), str(ref["name"])))
    return {t.key for t in targets if t.strategy is Strategy.CANARY and (t.namespace, t.deployment or t.name) in refs}


async def preflight(options: LiveOptions, config: Config) -> Preflight:
    from backends.base import BackendError, NotFound
    from backends.kubernetes import discovery
    from backends.kubernetes.client import Api, NoCluster, connect
    from backends.kubernetes.errors import What
    from backends.kubernetes.resources import CANARIES

    try:
        cfg, where = await connect(options.kubeconfig, options.context)
    except NoCluster as err:
        raise LiveSetupError(err.sentence) from None
    except BackendError as err:
        raise LiveError(err.sentence) from None
    api = Api(cfg, where.server)
    try:
        await discovery.version(api)
        identity = "" if options.only_get else await discovery.whoami(api)
        production = is_production(where.context, config.production_contexts)
        targets = config_targets(config, production)
        if options.all_namespaces:
            namespaces: list[str] | None = None
        elif options.namespace:
            namespaces = [n for n in options.namespace.split(",") if n]
            targets = [t for t in targets if t.namespace in namespaces]
        else:
            namespaces = sorted({t.namespace for t in targets}) or [where.namespace]
        canaries: list[dict[str, Any]] = []
        for ns in namespaces or [None]:  # type: ignore[list-item]
            try:
                body = await api.call("GET", CANARIES.path(ns), What("list", CANARIES, ns))
                canaries += [c for c in body.get("items") or [] if isinstance(c, dict)]
            except NotFound:
                break  # Flagger is not installed
        reason = "" if options.read_only or options.only_get else await _read_only_reason(api, namespaces)
    except BackendError as err:
        raise LiveError(f"Context {where.context} ({where.server}): {err.sentence}") from None
    finally:
        await api.close()
    return Preflight(
        configuration=cfg,
        where=where,
        identity=identity,
        targets=targets,
        flagger_driven=flagger_driven(targets, canaries),
        namespaces=namespaces,
        production=production,
        read_only_reason=reason,
    )


async def _read_only_reason(api: Any, namespaces: list[str] | None) -> str:
    """Why this identity gets a read-only room ("" when it may drive): the doctor's checks, once, at start.

    A viewer (get/list/watch only) may not take a target's Lease nor record its Events, so no target could
    be driven: the room opens read-only and says so, the way `--read-only` would. An identity that may drive
    but not make some writes gets a live room with those keys disabled (the engine asks again as it runs)."""
    from backends.kubernetes import doctor

    report = await doctor.run(api, namespaces)
    missing = report.blocking
    if not missing:
        return ""
    first = missing[0]
    where = f" in namespace {first.namespace}" if first.namespace else ""
    more = f" and {len(missing) - 1} more permissions" if len(missing) > 1 else ""
    return (
        f"{report.identity} may not {first.verb} {first.resource}{where}{more}, so this room is read-only; "
        "`shiftroom doctor` lists what is missing."
    )


class NoMetrics:
    """Metrics when no Prometheus is configured: every reading is an error saying so."""

    name = "none"
    read_only = True
    SENTENCE = (
        "No Prometheus is configured (prometheus.url in shiftroom.yaml, or --prometheus), so nothing is measured."
    )

    async def ping(self) -> None:
        return None

    async def query(
        self, check: MetricCheck, targets: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], MetricSample]:
        import time

        return {
            t: MetricSample(t=time.time(), value=None, status=SampleStatus.ERROR, error=self.SENTENCE) for t in targets
        }

    async def history(
        self, check: MetricCheck, target: tuple[str, str], start: float, end: float, step: float
    ) -> list[tuple[float, float | None]]:
        return []


class EventAudit:
    """The audit log, and every decision about a target also an Event on its managed object."""

    name = "kubernetes-events"

    def __init__(self, inner: Any, cluster: KubeCluster, targets: Sequence[Target]) -> None:
        self.inner = inner
        self.notes: list[AuditEvent] = []  # what the room says about itself at start (shown in the event log)
        self.cluster = cluster
        self.read_only = cluster.read_only
        self.objects: dict[str, tuple[Any, str, str]] = {}
        for t in targets:
            if t.strategy is Strategy.CANARY:
                self.objects[t.key] = ("Deployment", t.namespace, t.deployment or t.name)
            else:
                self.objects[t.key] = ("Service", t.namespace, t.service or t.name)

    async def ping(self) -> None:
        await self.inner.ping()

    async def append(self, event: AuditEvent) -> None:
        await self.inner.append(event)
        await self._record(event)

    async def append_once(self, event: AuditEvent, uid: str) -> bool:
        """A spooled entry: once in the audit log where it can tell (Redis), and its Event only then."""
        from backends.base import OnceAudit

        if isinstance(self.inner, OnceAudit):
            if not await self.inner.append_once(event, uid):
                return False
        else:
            await self.inner.append(event)
        await self._record(event)
        return True

    async def _record(self, event: AuditEvent) -> None:
        obj = self.objects.get(event.target)
        if obj is None or self.cluster.read_only:
            return
        kind, ns, name = obj
        note = f"{event.reason} (by {event.actor})" if event.reason else f"{event.action} (by {event.actor})"
        await self.cluster.record_event(kind, ns, name, event.action, note, warning=event.level is not Level.INFO)

    async def recent(self, limit: int = 200) -> list[AuditEvent]:
        return sorted([*await self.inner.recent(limit), *self.notes], key=lambda e: e.t)[-limit:]


def build(pre: Preflight, options: LiveOptions, config: Config, clock: Clock | None = None) -> Engine:
    from app.control.engine import Engine
    from app.wiring import notifier_from_config, prometheus_from_config
    from backends.kubernetes.client import Api
    from backends.kubernetes.cluster import KubeCluster
    from backends.sim.store import SimAudit
    from backends.webhooks import HttpWebhooks

    clock = clock or RealClock()
    if pre.read_only_reason:
        options = dataclasses.replace(options, read_only=True)
    driven = [t for t in pre.targets if t.key not in pre.flagger_driven]
    cluster = KubeCluster(
        Api(pre.configuration, pre.where.server),
        namespaces=pre.namespaces,
        targets=driven,
        read_only=options.read_only,
        identity=pre.identity,
        where=pre.where,
    )
    metrics: Any = prometheus_from_config(options.prometheus, clock) if options.prometheus else NoMetrics()
    store = audit_inner = None
    if options.redis_url:
        from backends.redis import RedisAudit, RedisStore

        store = RedisStore(options.redis_url, read_only=options.read_only, clock=clock)
        audit_inner = RedisAudit(options.redis_url, read_only=options.read_only)
    audit = EventAudit(audit_inner or SimAudit(read_only=options.read_only), cluster, driven)
    who = pre.identity or "unknown"
    engine = Engine(
        clock=clock,
        cluster=cluster,
        metrics=metrics,
        targets=driven,
        store=store,
        audit=audit,
        webhooks=HttpWebhooks(),
        notifier=notifier_from_config(config.notify),
        mode=Mode.READ_ONLY if options.read_only else Mode.LIVE,
        context=pre.where.context,
        namespace=",".join(pre.namespaces) if pre.namespaces else "all",
        actor=f"{who}@{socket.gethostname()}",
        tick_every=1.0,
        publish_every=1.0,
        series_every=10.0,
        namespaces=pre.namespaces or (),  # Flagger / Argo objects live there too
        all_namespaces=pre.namespaces is None,  # -A: one watch per resource over every namespace
        production=pre.production,
    )
    # The header's cluster and identity (RoomState fields the engine does not take as arguments yet).
    engine._base.update(cluster=pre.where.cluster, identity=pre.identity)
    engine.state = engine.state.model_copy(update={"cluster": pre.where.cluster, "identity": pre.identity})
    for key in sorted(pre.flagger_driven):
        audit.notes.append(
            AuditEvent(
                t=clock.now(),
                actor="shiftroom",
                target=key,
                action="flagger-driven",
                reason=f"{key} is driven by a Flagger Canary in the cluster; this room shows it and does not drive it.",
            )
        )
    if pre.read_only_reason:
        audit.notes.append(
            AuditEvent(
                t=clock.now(),
                actor="shiftroom",
                target="room",
                action="read-only",
                reason=pre.read_only_reason,
                level=Level.WARN,
            )
        )
    if not pre.targets:
        audit.notes.append(
            AuditEvent(
                t=clock.now(),
                actor="shiftroom",
                target="room",
                action="no-targets",
                reason="No targets are configured: add targets: to shiftroom.yaml "
                "(scenario-shaped targets or Flagger Canary manifests).",
                level=Level.WARN,
            )
        )
    return engine


def pid_host() -> str:
    return f"{socket.gethostname()}#{os.getpid()}"
