"""The engine: runs the controllers, keeps the last good data, publishes snapshots.

One pass (`run_pass`) at a time, never overlapping: observe every target
through the cluster backend, take or renew each target's lease, sample the
metrics the controllers ask for (one query per metric for all targets), let
each controller decide, refresh the plotted series, flags and experiments
every so often, and publish an immutable `RoomState`. A backend that fails
is marked down with its one-sentence reason; the last good data stays on
screen, and the next pass tries again, so it recovers by itself.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from app.clock import Clock
from app.control.actions import ActionResult, Preview
from app.control.bluegreen import BlueGreenController
from app.control.canary import CanaryController
from app.control.context import Context, local_actor
from app.model import (
    AuditEvent, BackendHealth, Experiment, ExperimentPoint, Flag, HealthStatus, Level, MetricCheck, MetricSample,
    MetricSeries, Mode, Rollout, RoomState, SampleStatus, Strategy, Target,
)
from backends.base import AuditLog, BackendError, Cluster, Conflict, Metrics, Notifier, Store
from backends.webhooks import Webhooks

_ENGINES = itertools.count(1)  # distinguishes engines of one process (tests, a second room)
UNITS = {"request-success-rate": "%", "error-rate": "%", "request-duration": "ms"}
Workload = tuple[str, str]


class Controller(Protocol):
    target: Target
    strategy: Strategy

    async def load(self) -> None: ...
    async def observe(self) -> None: ...
    def wants(self, now: float) -> tuple[Workload, tuple[MetricCheck, ...]] | None: ...
    async def tick(self, now: float, samples: dict[str, MetricSample]) -> None: ...
    @property
    def workload(self) -> Workload: ...
    @property
    def checks(self) -> tuple[MetricCheck, ...]: ...
    def preview(self, action: str) -> Preview: ...
    async def act(self, action: str, actor: str) -> ActionResult: ...
    def rollout(self, driver: str = "") -> Rollout: ...


def make_controller(target: Target, ctx: Context) -> Controller:
    if target.strategy is Strategy.BLUE_GREEN:
        return BlueGreenController(target, ctx)
    return CanaryController(target, ctx)


class Engine:
    def __init__(
        self,
        *,
        clock: Clock,
        cluster: Cluster,
        metrics: Metrics,
        targets: Iterable[Target],
        store: Store | None = None,
        audit: AuditLog | None = None,
        notifier: Notifier | None = None,
        webhooks: Webhooks | None = None,
        mode: Mode = Mode.DEMO,
        context: str = "sim",
        namespace: str = "all",
        scenario: str = "",
        actor: str | None = None,
        tick_every: float = 1.0,
        publish_every: float = 1.0,
        series_every: float = 5.0,
        series_points: int = 48,
        lease_duration: float = 15.0,
        background: Iterable[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.clock = clock
        self.cluster = cluster
        self.metrics = metrics
        self.store = store
        self.audit = audit
        self.notifier = notifier
        self.actor = actor or local_actor()
        n = next(_ENGINES)
        self.identity = f"{self.actor}#{os.getpid()}" + (f".{n}" if n > 1 else "")
        self.read_only = cluster.read_only
        self.tick_every = tick_every
        self.publish_every = publish_every
        self.series_every = series_every
        self.lease_duration = lease_duration
        self._background = list(background)
        self.ctx = Context(clock=clock, cluster=cluster, metrics=metrics, record=self.record, actor=self.identity,
                           webhooks=webhooks)
        self.controllers: dict[str, Controller] = {t.key: make_controller(t, self.ctx) for t in targets}
        self._drivers: dict[str, str] = {}
        self._loaded: set[str] = set()
        self._series: dict[tuple[str, str], deque[tuple[float, float | None]]] = {}
        self._sources: dict[tuple[str, str], str] = {}
        self._series_points = series_points
        self._events: deque[AuditEvent] = deque(maxlen=300)
        self._flags: tuple[Flag, ...] = ()
        self._experiments: tuple[Experiment, ...] = ()
        self._exp_history: dict[str, deque[ExperimentPoint]] = {}
        self._health: dict[str, BackendHealth] = {}
        self._subscribers: list[Callable[[RoomState], None]] = []
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._next_series = 0.0
        self._next_publish = 0.0
        self._dirty = True
        self._seq = 0
        self._base = dict(mode=mode, context=context, namespace=namespace, scenario=scenario)
        self.state = RoomState(t=clock.now(), **self._base)
        for name, backend in (("cluster", cluster), ("metrics", metrics), ("store", store), ("audit", audit),
                              ("notify", notifier)):
            if backend is not None:
                self._health[name] = BackendHealth(name=name, kind=getattr(backend, "name", name), since=clock.now())

    # ------------------------------------------------------------ lifecycle
    def subscribe(self, callback: Callable[[RoomState], None]) -> None:
        self._subscribers.append(callback)

    async def start(self) -> None:
        if self.audit is not None:  # the trail so far: what other rooms and earlier sessions decided
            try:
                self._events.extend(await self.audit.recent(self._events.maxlen or 300))
            except BackendError as err:
                self._mark("audit", err)
        for factory in self._background:
            self._tasks.append(asyncio.create_task(factory()))
        if self.store is not None and hasattr(self.store, "watch_changes"):
            self._tasks.append(asyncio.create_task(self._watch_store()))
        self._tasks.append(asyncio.create_task(self._loop()))

    async def _watch_store(self) -> None:
        """Changes made elsewhere (another room, the seed's service) show within a second."""
        while True:
            try:
                async for _change in self.store.watch_changes():  # type: ignore[union-attr]
                    await self.refresh_store()
            except BackendError as err:
                self._mark("store", err)
            except Exception as err:  # the watch must never take the room down
                await self._internal_error(err)
            await self.clock.sleep(self.series_every)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if not self.read_only:
            for key, ctl in self.controllers.items():
                if self._drivers.get(key) == self.identity:
                    try:
                        await self.cluster.release_lease(ctl.target.namespace, _lease(ctl.target), self.identity)
                    except BackendError:
                        pass

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_pass()
            except Exception as err:  # a bug must not stop the room from watching the others
                await self._internal_error(err)
            await self.clock.sleep(self.tick_every)

    async def _internal_error(self, err: Exception) -> None:
        sentence = f"internal error in the engine: {type(err).__name__}: {err}"
        if not self._events or self._events[-1].reason != sentence:
            await self.record(AuditEvent(t=self.clock.now(), actor="shiftroom", target="engine",
                                         action="error", reason=sentence, level=Level.ERROR))
        self._publish(self.clock.now())

    async def idle(self) -> None:
        """Wait for the pass in progress (if any) to finish: passes may await real I/O."""
        async with self._lock:
            pass

    # ------------------------------------------------------------ one pass
    async def run_pass(self) -> RoomState:
        if self._lock.locked():
            return self.state  # a pass is running: never overlap
        async with self._lock:
            now = self.clock.now()
            driving = await self._observe(now)
            requests = [(key, self.controllers[key].wants(now)) for key in driving]
            wanted = {key: w for key, w in requests if w}
            samples = await self._sample(list(wanted.values()))
            for key in driving:
                ctl = self.controllers[key]
                got = {}
                if key in wanted:
                    workload, checks = wanted[key]
                    got = {c.name: samples[_check_key(c)][workload] for c in checks}
                await self._guarded("cluster", ctl.tick(now, got))
            if now >= self._next_series:
                self._next_series = now + self.series_every
                await self._refresh_series(now)
                await self._refresh_store()
            if self._dirty or now >= self._next_publish:
                self._publish(now)
            return self.state

    async def _observe(self, now: float) -> list[str]:
        """Read every target; return the keys this engine drives."""
        driving: list[str] = []
        for key, ctl in self.controllers.items():
            if not await self._guarded("cluster", ctl.observe()):
                continue
            if self.read_only:
                await self._guarded("cluster", ctl.load())
                self._drivers[key] = ""
                continue
            holder = await self._lease(ctl, now)
            if holder == self.identity:
                if key not in self._loaded:
                    if await self._guarded("cluster", ctl.load()):
                        self._loaded.add(key)
                    else:
                        continue
                driving.append(key)
            else:
                self._loaded.discard(key)
                await self._guarded("cluster", ctl.load())  # show what the driver decided
        return driving

    async def _lease(self, ctl: Controller, now: float) -> str:
        t = ctl.target
        key = t.key
        try:
            await self.cluster.acquire_lease(t.namespace, _lease(t), self.identity, self.lease_duration)
            holder = self.identity
        except Conflict:
            lease = await self.cluster.get_lease(t.namespace, _lease(t))
            holder = lease.holder if lease else ""
        except BackendError as err:
            self._mark("cluster", err)
            holder = self._drivers.get(key, "")
        if self._drivers.get(key) != holder:
            self._dirty = True
        self._drivers[key] = holder
        return holder

    async def _sample(self, wanted: list[tuple[Workload, tuple[MetricCheck, ...]]]) -> dict[str, dict[Workload, MetricSample]]:
        """One query per distinct metric check for every workload that needs it."""
        by_check: dict[str, tuple[MetricCheck, list[Workload]]] = {}
        for workload, checks in wanted:
            for c in checks:
                by_check.setdefault(_check_key(c), (c, []))[1].append(workload)
        out: dict[str, dict[Workload, MetricSample]] = {}
        for ck, (check, workloads) in by_check.items():
            out[ck] = await self._query(check, workloads)
        return out

    async def _query(self, check: MetricCheck, workloads: list[Workload]) -> dict[Workload, MetricSample]:
        now = self.clock.now()
        try:
            got = await self.metrics.query(check, workloads)
        except BackendError as err:  # protocol says values, but never trust a backend to crash politely
            self._mark("metrics", err)
            got = {}
        result = {w: got.get(w) or MetricSample(t=now, value=None, status=SampleStatus.ERROR,
                                                   error="no sample returned") for w in workloads}
        errors = [s for s in result.values() if s.status is SampleStatus.ERROR]
        if errors and len(errors) == len(result):
            self._mark("metrics", BackendError("metrics", errors[0].error or "metrics backend failed"))
        elif result:
            self._mark_up("metrics")
        return result

    async def _refresh_series(self, now: float) -> None:
        """One batched instant query per metric for the plotted workloads; a series seen for the
        first time is back-filled with one range query, so a room opened mid-release has history."""
        wanted: dict[Workload, tuple[MetricCheck, ...]] = {}
        owners: dict[Workload, str] = {}
        for key, ctl in self.controllers.items():
            checks = ctl.checks
            if checks:
                wanted[ctl.workload] = checks
                owners[ctl.workload] = key
        for workload, checks in wanted.items():
            for c in checks:
                await self._backfill(owners[workload], workload, c, now)
        samples = await self._sample(list(wanted.items()))
        for workload, checks in wanted.items():
            key = owners[workload]
            for c in checks:
                s = samples[_check_key(c)][workload]
                ring = self._series[(key, c.name)]
                ring.append((now, s.value if s.ok else None))
                self._sources[(key, c.name)] = s.query or f"{workload[0]}/{workload[1]}"
        self._dirty = True

    async def _backfill(self, key: str, workload: Workload, check: MetricCheck, now: float) -> None:
        series = (key, check.name)
        if series in self._series:
            return
        ring = self._series[series] = deque(maxlen=self._series_points)
        start = now - (self._series_points - 1) * self.series_every
        try:
            points = await self.metrics.history(check, workload, start, now - self.series_every, self.series_every)
        except BackendError:
            return  # the instant query that follows marks the backend down if it is
        ring.extend((t, v) for t, v in points if t < now)

    async def _refresh_store(self) -> None:
        if self.store is None:
            return
        try:
            self._flags = tuple(await self.store.list_flags())
            experiments = await self.store.list_experiments()
            self._mark_up("store")
        except BackendError as err:
            self._mark("store", err)
            return
        now = self.clock.now()
        out = []
        for e in experiments:
            ring = self._exp_history.setdefault(e.id, deque(maxlen=self._series_points))
            if e.variants and (not ring or ring[-1].variants != e.variants):
                ring.append(ExperimentPoint(t=now, variants=e.variants))
            out.append(e.model_copy(update={"history": tuple(ring)}))
        self._experiments = tuple(out)

    async def refresh_store(self) -> None:
        """Re-read flags and experiments now (after a write) and publish."""
        async with self._lock:
            await self._refresh_store()
            self._publish(self.clock.now())

    # ------------------------------------------------------------ actions
    def preview(self, action: str, key: str) -> Preview:
        ctl = self.controllers.get(key)
        if ctl is None:
            return Preview(action, [f"no target {key}"], possible=False)
        if self.read_only:
            return Preview(action, ["this room is read-only: the backends refuse every write"], possible=False)
        holder = self._drivers.get(key, "")
        if holder and holder != self.identity:
            return Preview(action, [f"{key} is driven by {holder}; this room is hands-off"], possible=False)
        return ctl.preview("pause" if action == "resume" else action)

    async def act(self, action: str, key: str) -> ActionResult:
        p = self.preview(action, key)
        if not p.possible:
            return ActionResult(False, p.lines[0] if p.lines else f"{action} is not possible now")
        ctl = self.controllers[key]
        async with self._lock:
            try:
                await ctl.observe()
                result = await ctl.act("pause" if action == "resume" else action, self.actor)
            except BackendError as err:
                self._mark("cluster", err)
                return ActionResult(False, err.sentence)
            self._publish(self.clock.now())
        return result

    # ------------------------------------------------------------ audit and health
    async def record(self, event: AuditEvent) -> None:
        self._events.append(event)
        self._dirty = True
        if self.audit is not None:
            try:
                await self.audit.append(event)
                self._mark_up("audit")
            except BackendError as err:
                self._mark("audit", err)
        if self.notifier is not None and event.level is Level.ERROR:
            try:
                await self.notifier.notify(event)
                self._mark_up("notify")
            except BackendError as err:
                self._mark("notify", err)
            except Exception as err:  # a notifier must never stop a rollback
                self._mark("notify", BackendError("notify", f"the notifier failed: {err}"))

    async def _guarded(self, backend: str, aw: Awaitable[object]) -> bool:
        try:
            await aw
        except BackendError as err:
            self._mark(backend, err)
            return False
        self._mark_up(backend)
        return True

    def _mark(self, name: str, err: BackendError) -> None:
        old = self._health.get(name)
        status = HealthStatus.DOWN
        if old is None or old.status is not status or old.reason != err.sentence:
            self._health[name] = BackendHealth(name=name, kind=old.kind if old else name, status=status,
                                               reason=err.sentence, since=self.clock.now())
            self._dirty = True

    def _mark_up(self, name: str) -> None:
        old = self._health.get(name)
        if old is not None and old.status is not HealthStatus.UP:
            self._health[name] = BackendHealth(name=name, kind=old.kind, since=self.clock.now())
            self._dirty = True

    # ------------------------------------------------------------ snapshots
    def _publish(self, now: float) -> None:
        self._seq += 1
        self._dirty = False
        self._next_publish = now + self.publish_every
        series = []
        for (key, name), ring in self._series.items():
            ctl = self.controllers[key]
            check = next((c for c in ctl.checks if c.name == name), None)
            series.append(MetricSeries(
                target=key, name=name, unit=(check.unit if check and check.unit else UNITS.get(name, "")),
                min=check.min if check else None, max=check.max if check else None,
                times=tuple(t for t, _ in ring), values=tuple(v for _, v in ring),
                source=self._sources.get((key, name), ""),
            ))
        self.state = RoomState(
            t=now, seq=self._seq, **self._base,
            rollouts=tuple(ctl.rollout(self._drivers.get(key, "")) for key, ctl in self.controllers.items()),
            series=tuple(series), flags=self._flags, experiments=self._experiments,
            events=tuple(self._events), health=tuple(self._health.values()),
        )
        for cb in list(self._subscribers):
            cb(self.state)


def _lease(target: Target) -> str:
    return f"shiftroom-{target.name}"


def _check_key(c: MetricCheck) -> str:
    return f"{c.name}|{c.interval}|{c.template or ''}"
