"""The engine: runs the controllers, keeps the last good data, publishes snapshots.

One pass (`run_pass`) at a time, never overlapping: read every target from the
object cache (fed by the cluster watch: no GETs), renew the lease of each target
with a release in progress (an idle one holds none: its first write takes it),
sample the metrics the controllers ask for (one query per metric for all
targets), start each driven target's tick as a task of its own (so a slow gate
webhook on one target delays no other), refresh the plotted series, flags and
experiments every so often, and publish an immutable `RoomState`. Audit
delivery, notifiers and post-rollout webhooks run outside the pass. A backend
that fails is marked down with its one-sentence reason; the last good data
stays on screen, and the next pass tries again.

Every write is one command: `preview(command)` once per key press, and
`execute(command, confirmed=preview)`, which refuses a preview whose target
has changed since with the fresh preview.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from functools import partial
from typing import Any

from app.clock import Clock
from app.control.access import AccessDesk
from app.control.audit_trail import AuditTrail
from app.control.bootstrap_desk import BootstrapDesk
from app.control.cache import ObjectCache
from app.control.chart_book import ChartBook
from app.control.commands import BOOTSTRAP, BootstrapCanary, Command, Preview, Result, RolloutCommand
from app.control.context import Context
from app.control.controllers import Controller, make_controller
from app.control.foreign_desk import ForeignDesk
from app.control.health import HealthBoard
from app.control.jobs import JobBoard
from app.control.leases import HandsOff, LeaseKeeper
from app.control.outbox import Outbox
from app.control.rollout_desk import RolloutDesk
from app.control.sampling import Sampler, Wanted, check_key
from app.control.store_desk import StoreDesk
from app.control.target_events import with_events
from app.control.writes import ClusterWrites
from app.identity import instance, operator
from app.model import (
    AuditEvent,
    BackendHealth,
    Experiment,
    Flag,
    HealthStatus,
    Level,
    MetricSample,
    Mode,
    RoomState,
    Target,
)
from backends.base import AuditLog, BackendError, Cluster, Kind, Metrics, Notifier, Store, Unavailable, Webhooks

_ENGINES = itertools.count(1)  # distinguishes engines of one process (tests, a second room)


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
        namespaces: Iterable[str] = (),
        production: bool = False,
        all_namespaces: bool = False,
    ) -> None:
        """`namespaces`: watched besides the targets' (where Flagger Canaries or Argo Rollouts live);
        `production`: the context is a production one (destructive commands ask for the typed name);
        `all_namespaces`: one watch of every namespace instead of one per namespace (`-A`)."""
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
        self.cache = ObjectCache(
            cluster,
            clock,
            {t.namespace for t in targets} | set(namespaces),
            on_change=self._mark,
            stale_after=min((t.analysis.interval for t in targets), default=30.0),
            all_namespaces=all_namespaces,
        )
        self.leases = LeaseKeeper(cluster, self.cache, self.identity, lease_duration, clock)
        self.sampler = Sampler(metrics, clock, self.health, every=series_every, points=series_points)
        self.desk = StoreDesk(store, self.trail, self.jobs, clock, self.read_only, self.identity)
        self.ctx = Context(
            clock=clock,
            cache=self.cache,
            writes=ClusterWrites(cluster, self.cache),
            record=self._record,
            actor=self.identity,
            defer=self._defer,
            webhooks=webhooks,
        )
        self.controllers: dict[str, Controller] = {t.key: make_controller(t, self._context(t)) for t in targets}
        self.foreign = ForeignDesk(
            self.cache,
            cluster,
            metrics,
            self.sampler,
            clock,
            record=self._record,
            read_only=self.read_only,
            production=production,
        )
        self._claimed: set[str] = set()  # configured targets a cluster Canary drives: shown, never driven
        self._kinds: dict[str, tuple[Kind, ...]] = {}  # targets that need a bootstrap → the kinds it creates
        self.access = AccessDesk(cluster, clock, self.health, read_only=self.read_only, on_change=self._touch)
        self.bootstrap = BootstrapDesk(
            cluster, self.cache, targets, clock=clock, record=self._record, read_only=self.read_only
        )
        self.rollouts = RolloutDesk(
            self.controllers,
            self.leases,
            self.health,
            identity=self.identity,
            read_only=self.read_only,
            done=lambda: self._publish(self.clock.now()),
        )
        self._ticking: dict[str, asyncio.Task[None]] = {}
        self._loaded: set[str] = set()
        self.charts = ChartBook(bucket=series_every)  # whole-life histories and decision marks
        self._flags: tuple[Flag, ...] = ()
        self._experiments: tuple[Experiment, ...] = ()
        self._subscribers: list[Callable[[RoomState], None]] = []
        self._pass = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._next_series = 0.0
        self._next_publish = 0.0
        self._dirty = True
        self._flush_soon = False
        self._seq = 0
        self._base: dict[str, Any] = dict(mode=mode, context=context, namespace=namespace, scenario=scenario)
        self.state = RoomState(t=clock.now(), mode=mode, context=context, namespace=namespace, scenario=scenario)
        self.health.add("metrics", metrics.name)
        if notifier is not None:
            self.health.add("notify", "notify")

    def _context(self, target: Target) -> Context:
        """The target's own context: its writes and decisions take its Lease first."""
        claim = partial(self.leases.claim, target)
        return replace(self.ctx, writes=ClusterWrites(self.cluster, self.cache, claim), claim=claim)

    def _mark(self) -> None:
        self._dirty = True  # the next pass reads it and publishes

    def _touch(self) -> None:
        """A change the next pass would not notice (a job's progress, the audit queue, a health dot):
        publish it promptly, at most once per event-loop turn, never inside a pass."""
        self._dirty = True
        if self._flush_soon:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not running yet: the first pass publishes
        self._flush_soon = True
        loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        if self._dirty and not self._pass.locked():
            self._publish(self.clock.now())

    # ------------------------------------------------------------ lifecycle
    def subscribe(self, callback: Callable[[RoomState], None]) -> None:
        self._subscribers.append(callback)

    async def start(self) -> None:
        await self.trail.load()
        for event in self.trail.events:
            self.charts.add_event(event)
        for factory in self._background:
            self._tasks.append(asyncio.ensure_future(factory()))
        self._tasks.append(asyncio.create_task(self.trail.run()))
        self._tasks.append(asyncio.create_task(self.trail.follow(self.charts.add_event)))
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
        await self.access.stop()
        self.undelivered = await self.outbox.stop()  # notifications and webhooks that could not go out in time
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
            self._record(
                AuditEvent(
                    t=self.clock.now(),
                    actor=self.identity,
                    target="engine",
                    action="error",
                    reason=sentence,
                    level=Level.ERROR,
                )
            )
        self._publish(self.clock.now())

    async def idle(self) -> None:
        """Wait for the pass in progress (if any) and the ticks it started to finish."""
        async with self._pass:
            pass
        await asyncio.gather(*list(self._ticking.values()), return_exceptions=True)

    # ------------------------------------------------------------ one pass
    async def run_pass(self) -> RoomState:
        if self._pass.locked():
            return self.state  # a pass is running: never overlap
        async with self._pass:
            await self._connect()
            now = self.clock.now()
            driving = await self._observe(now)
            self.access.follow(now, self.cache.health(now).status is HealthStatus.UP, self.state.rollouts, self._kinds)
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
            if await self.foreign.refresh(now):
                self.charts.add_series(self.foreign.latest)
                self._dirty = True
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
            if self.leases.holder(key) != self.identity:
                ctl.reload()  # its Lease was not taken (another room has it): nothing was written
            if not isinstance(err, HandsOff):
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
        self._claimed = self.foreign.claimed(ctl.target for ctl in self.controllers.values())
        for key, ctl in self.controllers.items():
            skip = key in self._claimed or self.bootstrap.blocked(key) or not self._read(ctl)
            if skip or self.read_only:
                self.leases.watch_only(key)  # a Canary drives it, or a read-only room: no lease, no tick
                if not skip:
                    self._load(ctl)
                continue
            mine = self.leases.holder(key) == self.identity
            if not (mine and key in self._loaded) and key not in self._ticking:
                self._load(ctl)  # what the room that drove it last decided (or, once taken, ours)
                (self._loaded.add if mine else self._loaded.discard)(key)
            busy = ctl.busy(now) or key in self._ticking or self.rollouts.locks[key].locked()  # idle: no Lease
            holder, err = await self.leases.settle(ctl.target, now, busy)
            if err is not None:
                self.health.mark("cluster", err)
            if holder == self.identity or not (holder or busy):
                driving.append(key)
        return driving

    def _load(self, ctl: Controller) -> None:
        try:
            ctl.load()
        except BackendError as err:
            self.health.mark("cluster", err)

    async def _refresh_series(self, now: float) -> None:
        plotted: dict[str, Wanted] = {key: (ctl.workload, ctl.checks) for key, ctl in self.controllers.items()}
        await self.sampler.refresh_series(now, plotted)
        self.charts.add_series(self.sampler.series({key: ctl.checks for key, ctl in self.controllers.items()}))
        self._dirty = True

    async def _refresh_store(self) -> None:
        try:
            flags, experiments = await self.desk.refresh()
        except BackendError:
            return  # the desk marks its own health
        self._flags, self._experiments = flags, self.charts.experiments(self.clock.now(), experiments)
        self._dirty = True

    async def refresh_store(self) -> None:
        """Re-read flags and experiments now (after a write, or a change feed's nudge) and publish."""
        await self._refresh_store()
        self._publish(self.clock.now())

    # ------------------------------------------------------------ commands
    async def preview(self, command: Command) -> Preview:
        if isinstance(command, (RolloutCommand, BootstrapCanary)):
            await self._connect()
            denied = await self._denied(command)
            if denied:
                return Preview(command, _verb(command), (denied,), possible=False)
            if isinstance(command, BootstrapCanary):
                return await self.bootstrap.preview(command)
            if self.foreign.owns(command.target):
                return await self.foreign.preview(command)
            if command.target in self._claimed:
                return Preview(command, command.verb.value, (self._claimed_sentence(command.target),), possible=False)
            return self.rollouts.preview(command)
        return await self.desk.preview(command)

    async def _denied(self, command: RolloutCommand | BootstrapCanary) -> str:
        """The sentence a 403 would get when this identity may not make the command's writes ("" if it may)."""
        key = command.target
        return await self.access.refusal(self.state.rollout(key), _verb(command), self._kinds.get(key, ()))

    def _claimed_sentence(self, key: str) -> str:
        return f"{key} is driven by a Flagger Canary in the cluster; this room shows it and does not drive it."

    async def execute(self, command: Command, confirmed: Preview | None = None, actor: str | None = None) -> Result:
        who = actor or self.actor
        if not isinstance(command, (RolloutCommand, BootstrapCanary)):
            result = await self.desk.execute(command, confirmed, who)
            await self.refresh_store()
            return result
        await self._connect()
        denied = await self._denied(command)
        if denied:
            return Result(False, denied, target=command.target, preview=await self.preview(command))
        if isinstance(command, BootstrapCanary):
            result = await self.bootstrap.execute(command, confirmed, who)
            self._publish(self.clock.now())
            return result
        if self.foreign.owns(command.target):
            result = await self.foreign.execute(command, confirmed, who)
            self._publish(self.clock.now())
            return result
        if command.target in self._claimed:
            return Result(False, self._claimed_sentence(command.target), target=command.target)
        return await self.rollouts.execute(command, confirmed, who)

    # ------------------------------------------------------------ audit and notifications
    def _record(self, event: AuditEvent) -> None:
        """Never waits: the trail delivers to the audit backend, the outbox to the notifier."""
        self.trail.record(event)
        self.charts.add_event(event)
        self._touch()
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
        histories, marks = self.charts.published()
        own = [ctl.rollout(self.leases.holder(k)) for k, ctl in self.controllers.items() if k not in self._claimed]
        self._kinds = self.bootstrap.kinds()
        rows = self.access.mark((*self.bootstrap.mark(own), *self.foreign.rows()), self._kinds)
        targets = {k: ctl.target for k, ctl in self.controllers.items()}
        rows = with_events(rows, targets, self.cache.foreign_objects(), self.cache.events, now)
        self.state = RoomState(
            t=now,
            seq=self._seq,
            **self._base,
            rollouts=tuple(rows),
            series=self.sampler.series(checks_of),
            flags=self._flags,
            experiments=self._experiments,
            events=tuple(self.trail.events),
            health=self._healths(now),
            jobs=self.jobs.snapshot(),
            invalid_flags=sum(1 for f in self._flags if f.error),
            invalid_experiments=sum(1 for e in self._experiments if e.error),
            audit_queued=self.trail.waiting,
            histories=histories,
            marks=marks,
        )
        for cb in list(self._subscribers):
            cb(self.state)


def _verb(command: RolloutCommand | BootstrapCanary) -> str:
    return command.verb.value if isinstance(command, RolloutCommand) else BOOTSTRAP
