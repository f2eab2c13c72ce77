"""The engine: runs the controllers, keeps the last good data, publishes snapshots.

One pass (`run_pass`) at a time, never overlapping: read every target from the
object cache (fed by the cluster watch: no GETs), take or renew each target's
lease, sample the metrics the controllers ask for (one query per metric for
all targets), start each driven target's tick as a task of its own (so a slow
gate webhook on one target delays no other), refresh the plotted series,
flags and experiments every so often, and publish an immutable `RoomState`.
Audit delivery, notifiers and post-rollout webhooks run outside the pass.
A backend that fails is marked down with its one-sentence reason; the last
good data stays on screen, and the next pass tries again.

Every write is one command: `preview(command)` once per key press, and
`execute(command, confirmed=preview)`, which refuses a preview whose target
has changed since with the fresh preview.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from app.clock import Clock
from app.control.audit_trail import AuditTrail
from app.control.bluegreen import BlueGreenController
from app.control.cache import ObjectCache
from app.control.canary import CanaryController
from app.control.commands import Command, Preview, Result, RolloutCommand
from app.control.context import Context
from app.control.health import HealthBoard
from app.control.jobs import JobBoard
from app.control.leases import LeaseKeeper
from app.control.outbox import Outbox
from app.control.rollout_desk import RolloutDesk
from app.control.sampling import Sampler, Wanted, check_key
from app.control.store_desk import StoreDesk
from app.control.writes import ClusterWrites
from app.identity import instance, operator
from app.model import (
    AuditEvent,
    BackendHealth,
    Experiment,
    ExperimentPoint,
    Flag,
    HealthStatus,
    Level,
    MetricCheck,
    MetricSample,
    Mode,
    Rollout,
    RoomState,
    Strategy,
    Target,
)
from backends.base import AuditLog, BackendError, Cluster, Metrics, Notifier, Store, Unavailable, Webhooks

_ENGINES = itertools.count(1)  # distinguishes engines of one process (tests, a second room)


class Commands(Protocol):
    def preview(self, cmd: RolloutCommand) -> Preview: ...
    async def act(self, cmd: RolloutCommand, actor: str) -> str: ...


class Controller(Protocol):
    target: Target
    strategy: Strategy

    @property
    def commands(self) -> Commands: ...

    def load(self) -> None: ...
    def observe(self) -> None: ...
    def version(self) -> dict[str, str]: ...
    def wants(self, now: float) -> tuple[tuple[str, str], tuple[MetricCheck, ...]] | None: ...
    async def tick(self, now: float, samples: dict[str, MetricSample]) -> None: ...
    @property
    def workload(self) -> tuple[str, str]: ...
    @property
    def checks(self) -> tuple[MetricCheck, ...]: ...
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
        identity: str | None = None,
        tick_every: float = 1.0,
        publish_every: float = 1.0,
        series_every: float = 5.0,
        series_points: int = 48,
        lease_duration: float = 15.0,
        background: Iterable[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        targets = list(targets)
        self.clock = clock
        self.cluster = cluster
        self.metrics = metrics
        self.store = store
        self.audit = audit
        self.notifier = notifier
        self.actor = actor or operator()  # who presses the keys in this room
        n = next(_ENGINES)
        # The actor of automatic decisions and the lease holder: `shiftroom@host#pid`, unique per engine.
        self.identity = identity or instance() + (f".{n}" if n > 1 else "")
        self.read_only = cluster.read_only
        self.tick_every = tick_every
        self.publish_every = publish_every
        self.series_every = series_every
        self._background = list(background)
        self.health = HealthBoard(clock, self._touch)
        self.trail = AuditTrail(audit, clock=clock, on_change=self._touch)
        self.jobs = JobBoard(clock, self._touch)
        self.outbox = Outbox(self.health)
        self.cache = ObjectCache(cluster, clock, {t.namespace for t in targets}, on_change=self._touch,
                                 stale_after=min((t.analysis.interval for t in targets), default=30.0))
        self.leases = LeaseKeeper(cluster, self.cache, self.identity, lease_duration)
        self.sampler = Sampler(metrics, clock, self.health, every=series_every, points=series_points)
        self.desk = StoreDesk(store, self.trail, self.jobs, clock, self.read_only, self.identity)
        self.ctx = Context(clock=clock, cache=self.cache, writes=ClusterWrites(cluster, self.cache),
                           record=self._record, actor=self.identity, defer=self._defer, webhooks=webhooks)
        self.controllers: dict[str, Controller] = {t.key: make_controller(t, self.ctx) for t in targets}
        self.rollouts = RolloutDesk(self.controllers, self.leases, self.health, identity=self.identity,
                                    read_only=self.read_only, done=lambda: self._publish(self.clock.now()))
        self._ticking: dict[str, asyncio.Task[None]] = {}
        self._loaded: set[str] = set()
        self._series_points = series_points
        self._flags: tuple[Flag, ...] = ()
        self._experiments: tuple[Experiment, ...] = ()
        self._exp_history: dict[str, list[ExperimentPoint]] = {}
        self._subscribers: list[Callable[[RoomState], None]] = []
        self._pass = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._next_series = 0.0
        self._next_publish = 0.0
        self._dirty = True
        self._seq = 0
        self._base: dict[str, Any] = dict(mode=mode, context=context, namespace=namespace, scenario=scenario)
        self.state = RoomState(t=clock.now(), mode=mode, context=context, namespace=namespace, scenario=scenario)
        self.health.add("metrics", metrics.name)
        if notifier is not None:
            self.health.add("notify", "notify")

    def _touch(self) -> None:
        self._dirty = True

    # ------------------------------------------------------------ lifecycle
    def subscribe(self, callback: Callable[[RoomState], None]) -> None:
        self._subscribers.append(callback)

    async def start(self) -> None:
        await self.trail.load()
        for factory in self._background:
            self._tasks.append(asyncio.ensure_future(factory()))
        self._tasks.append(asyncio.create_task(self.trail.run()))
        self.cache.start()
        from app.control.store_feed import watch_store

        feed = watch_store(self)
        if feed is not None:
            self._tasks.append(asyncio.create_task(feed))
        self._tasks.append(asyncio.create_task(self._loop()))

    async def stop(self) -> None:
        for task in [*self._tasks, *self._ticking.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._ticking.values(), return_exceptions=True)
        self._tasks.clear()
        self._ticking.clear()
        await self.jobs.stop()
        await self.outbox.stop()
        await self.cache.stop()
        if not self.read_only:
            await self.leases.release_all([c.target for c in self.controllers.values()])

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_pass()
            except Exception as err:  # a bug must not stop the room from watching the others
                self.internal_error(err)
            await self.clock.sleep(self.tick_every)

    def internal_error(self, err: Exception) -> None:
        sentence = f"internal error in the engine: {type(err).__name__}: {err}"
        events = self.trail.events
        if not events or events[-1].reason != sentence:
            self._record(AuditEvent(t=self.clock.now(), actor=self.identity, target="engine", action="error",
                                    reason=sentence, level=Level.ERROR))
        self._publish(self.clock.now())

    async def idle(self) -> None:
        """Wait for the pass in progress (if any) and the ticks it started to finish."""
        async with self._pass:
            pass
        ticking = list(self._ticking.values())
        if ticking:
            await asyncio.gather(*ticking, return_exceptions=True)

    # ------------------------------------------------------------ one pass
    async def run_pass(self) -> RoomState:
        if self._pass.locked():
            return self.state  # a pass is running: never overlap
        async with self._pass:
            await self._connect()
            now = self.clock.now()
            driving = await self._observe(now)
            ready = [k for k in driving if k not in self._ticking and self._fresh(k, now)]
            wanted = {k: w for k in ready if (w := self.controllers[k].wants(now))}
            samples = await self.sampler.sample(wanted.values())
            for key in ready:
                got = {}
                if key in wanted:
                    workload, checks = wanted[key]
                    got = {c.name: samples[check_key(c)][workload] for c in checks}
                self._ticking[key] = asyncio.create_task(self._tick(key, now, got))
            await asyncio.sleep(0)  # ticks that wait for nothing finish inside the pass
            if now >= self._next_series:
                self._next_series = now + self.series_every
                await self._refresh_series(now)
                await self._refresh_store()
            if self._dirty or now >= self._next_publish:
                self._publish(now)
            return self.state

    async def _connect(self) -> None:
        """Start the watches on first use and let their first list land (tests may skip `start`)."""
        if not self.cache.running:
            self.cache.start()
            for _ in range(5):
                await asyncio.sleep(0)
        await asyncio.sleep(0)  # events already delivered to the watches land before the cache is read

    def _fresh(self, key: str, now: float) -> bool:
        """No controller decides on data older than one analysis interval."""
        target = self.controllers[key].target
        return self.cache.age(target.namespace, now) <= target.analysis.interval

    async def _tick(self, key: str, now: float, samples: dict[str, MetricSample]) -> None:
        ctl = self.controllers[key]
        try:
            async with self.rollouts.locks[key]:
                ctl.observe()
                await ctl.tick(now, samples)
            self.health.mark_up("cluster")
        except BackendError as err:
            self.health.mark("cluster", err)
        except Exception as err:  # one target's bug never stops the others
            self.internal_error(err)
        finally:
            self._ticking.pop(key, None)
            self._dirty = True
            if not self._pass.locked():  # a slow tick (a gate webhook) ends after its pass published
                self._publish(self.clock.now())

    def _read(self, ctl: Controller) -> bool:
        try:
            ctl.observe()
        except Unavailable:
            return False  # the first list has not landed yet; the cache's health tells if it is down
        except BackendError as err:
            self.health.mark("cluster", err)
            return False
        return True

    async def _observe(self, now: float) -> list[str]:
        """Read every target from the cache; return the keys this engine drives."""
        driving: list[str] = []
        for key, ctl in self.controllers.items():
            if not self._read(ctl):
                continue
            if self.read_only:
                self.leases.watch_only(key)
                self._load(ctl)
                continue
            holder, err = await self.leases.settle(ctl.target, now)
            if err is not None:
                self.health.mark("cluster", err)
            if holder == self.identity:
                if key not in self._loaded and key not in self._ticking:
                    self._load(ctl)
                    self._loaded.add(key)
                driving.append(key)
            else:
                self._loaded.discard(key)
                self._load(ctl)  # show what the driver decided
        return driving

    def _load(self, ctl: Controller) -> None:
        try:
            ctl.load()
        except BackendError as err:
            self.health.mark("cluster", err)

    async def _refresh_series(self, now: float) -> None:
        plotted: dict[str, Wanted] = {key: (ctl.workload, ctl.checks) for key, ctl in self.controllers.items()}
        await self.sampler.refresh_series(now, plotted)
        self._dirty = True

    async def _refresh_store(self) -> None:
        try:
            flags, experiments = await self.desk.refresh()
        except BackendError:
            return  # the desk marks its own health
        now = self.clock.now()
        out = []
        for e in experiments:
            ring = self._exp_history.setdefault(e.id, [])
            if e.variants and (not ring or ring[-1].variants != e.variants):
                ring.append(ExperimentPoint(t=now, variants=e.variants))
                del ring[:-self._series_points]
            out.append(e.model_copy(update={"history": tuple(ring)}))
        self._flags, self._experiments = flags, tuple(out)
        self._dirty = True

    async def refresh_store(self) -> None:
        """Re-read flags and experiments now (after a write, or a change feed's nudge) and publish."""
        await self._refresh_store()
        self._publish(self.clock.now())

    # ------------------------------------------------------------ commands
    async def preview(self, command: Command) -> Preview:
        if isinstance(command, RolloutCommand):
            await self._connect()
            return self.rollouts.preview(command)
        return await self.desk.preview(command)

    async def execute(self, command: Command, confirmed: Preview | None = None, actor: str | None = None) -> Result:
        who = actor or self.actor
        if not isinstance(command, RolloutCommand):
            result = await self.desk.execute(command, confirmed, who)
            await self.refresh_store()
            return result
        await self._connect()
        return await self.rollouts.execute(command, confirmed, who)

    # ------------------------------------------------------------ audit and notifications
    def _record(self, event: AuditEvent) -> None:
        """Never waits: the trail delivers to the audit backend, the outbox to the notifier."""
        self.trail.record(event)
        self._dirty = True
        notifier = self.notifier
        if notifier is not None and event.level is Level.ERROR:
            async def notify() -> None:
                await notifier.notify(event)

            self.outbox.put("notify", notify, health="notify")

    async def record(self, event: AuditEvent) -> None:
        """The awaitable form, for callers that await it (it still never waits for the network)."""
        self._record(event)

    def _defer(self, destination: str, work: Callable[[], Awaitable[None]]) -> None:
        self.outbox.put(destination, work)

    # ------------------------------------------------------------ snapshots
    def _healths(self, now: float) -> tuple[BackendHealth, ...]:
        board = {h.name: h for h in self.health.snapshot()}
        cluster = self.cache.health(now)
        if cluster.status is HealthStatus.UP and "cluster" in board:
            cluster = board["cluster"]
        out = [cluster] + [h for name, h in board.items() if name not in ("cluster", "metrics", "notify")]
        out += [h for h in (board.get("metrics"), self.desk.health, self.trail.health, board.get("notify")) if h]
        return tuple(out)

    def _publish(self, now: float) -> None:
        self._seq += 1
        self._dirty = False
        self._next_publish = now + self.publish_every
        checks_of = {key: ctl.checks for key, ctl in self.controllers.items()}
        self.state = RoomState(
            t=now, seq=self._seq, **self._base,
            rollouts=tuple(ctl.rollout(self.leases.holder(key)) for key, ctl in self.controllers.items()),
            series=self.sampler.series(checks_of), flags=self._flags, experiments=self._experiments,
            events=tuple(self.trail.events), health=self._healths(now),
            jobs=self.jobs.snapshot(),
        )
        for cb in list(self._subscribers):
            cb(self.state)

