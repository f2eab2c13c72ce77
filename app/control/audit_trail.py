"""The audit trail: what the room shows as its event log, and delivery to the audit backend.

`record()` never waits for the network: the event joins the room's log at once
and a queue, and `run()` (a background task the engine owns) delivers the queue
in order. When the audit backend fails, the trail's health turns down with the
backend's sentence and everything queued goes to the durable spool
(`audit_spool`: appended and fsync'd in the user's state directory); the
backend is pinged every `RETRY_EVERY` real seconds, health turns up as soon as
a ping succeeds, and the spool is replayed in order, entries keeping their
original times. A room started with a non-empty spool replays it first.
`queued` counts what waits (memory and spool); `waiting`, what the header's "audit: N queued" shows,
leaves out the entry on its way to a log that is up (no flash after every decision).
An event a store already wrote in the same transaction as its change
(`stored=True`) is shown but not written again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from pathlib import Path

from app.clock import Clock
from app.control.audit_spool import Spool
from app.model import AuditEvent, BackendHealth, HealthStatus, Level
from backends.base import AuditFeed, AuditLog, BackendError, DurableAudit, OnceAudit

RETRY_EVERY = 1.0  # real seconds between pings while the backend is down (an I/O cadence, not domain time)
WRITTEN_KEPT = 2000  # entries this trail remembers writing, so the audit feed does not show them twice


class AuditTrail:
    def __init__(
        self,
        audit: AuditLog | None,
        *,
        clock: Clock,
        on_change: Callable[[], None] = lambda: None,
        limit: int = 300,
        spool_dir: Path | None = None,
    ) -> None:
        self.audit = audit
        # Entries wait on disk only for a log kept somewhere that can be down, each in its destination's own
        # spool: never replayed into another Redis, nor into a demo's in-memory log (where they would be lost).
        destination = audit.destination if isinstance(audit, DurableAudit) else ""
        self.spool = Spool(destination, spool_dir)
        self._spools = bool(destination)
        self.clock = clock
        self.on_change = on_change
        self.events: deque[AuditEvent] = deque(maxlen=limit)
        self._queue: deque[AuditEvent] = deque()
        self._written: dict[tuple[str, str, str, str], None] = {}  # what this trail recorded (insertion order)
        self._wake = asyncio.Event()
        kind = audit.name if audit is not None else "audit"
        self._health = BackendHealth(name="audit", kind=kind, since=clock.now())

    # ------------------------------------------------------------ what the engine asks
    @property
    def queued(self) -> int:
        return len(self._queue) + self.spool.count

    @property
    def waiting(self) -> int:
        """What the header counts: entries held back because the log cannot take them now (the spool, and
        memory while the log is down) — not the entry on its way to a log that is up."""
        return self.spool.count + (len(self._queue) if self._health.status is not HealthStatus.UP else 0)

    @property
    def health(self) -> BackendHealth | None:
        return self._health if self.audit is not None else None

    async def load(self) -> None:
        """The trail so far: what other rooms and earlier sessions decided."""
        if self.audit is None:
            return
        if self._spools:
            self._adopt_legacy_spool()
        if self._spools and self.spool.pending():
            self._wake.set()  # an earlier room left entries: replay them first
        try:
            self.events.extend(await self.audit.recent(self.events.maxlen or 300))
        except BackendError as err:
            self._down(err)

    def record(self, event: AuditEvent, *, stored: bool = False) -> None:
        self.events.append(event)
        self._written[_identity(event)] = None
        while len(self._written) > WRITTEN_KEPT:
            del self._written[next(iter(self._written))]
        if self.audit is not None and not stored:
            self._queue.append(event)
            if self._health.status is not HealthStatus.UP:
                self._to_spool()  # the backend is down: durable at once, not at the next retry
            self._wake.set()
        self.on_change()

    async def flush(self) -> None:
        """Deliver what waits now, spool first (tests, shutdown); stops at the first failure."""
        if self.audit is None:
            return
        try:
            if self._spools and self.spool.count:
                await self.spool.replay(self._deliver_once)
            while self._queue:
                await self.audit.append(self._queue[0])
                self._queue.popleft()
        except BackendError as err:
            self._down(err)
            self._to_spool()
            return
        except Exception as err:  # a bug in a backend: the dot says so, the entries wait on disk
            self._down(
                BackendError(
                    "audit",
                    f"Delivering audit entries failed inside Shiftroom "
                    f"({type(err).__name__}: {err}); they wait in the local spool.",
                )
            )
            self._to_spool()
            return
        self._up()

    def _adopt_legacy_spool(self) -> None:
        try:
            self.spool.adopt_legacy()
        except OSError as err:  # left where it is, and said in the room's log (not delivered: it is about here)
            why = (err.strerror or str(err)).lower()
            self.events.append(
                AuditEvent(
                    t=self.clock.now(),
                    actor="shiftroom",
                    target="audit",
                    action="audit-spool",
                    reason=f"The earlier audit spool could not be taken over ({why}); its entries wait there.",
                    level=Level.WARN,
                )
            )

    async def _deliver_once(self, event: AuditEvent, uid: str) -> None:
        """A spooled entry: exactly once where the audit log can tell ids it took already, else at least once."""
        assert self.audit is not None
        if isinstance(self.audit, OnceAudit):
            await self.audit.append_once(event, uid)
        else:
            await self.audit.append(event)

    def _to_spool(self) -> None:
        """What is queued in memory goes to disk, in order, so a crash of the room loses none of it."""
        if not self._queue or not self._spools:
            return
        try:
            self.spool.append(self._queue)
        except OSError as err:  # the disk refused: keep them in memory and say so
            self._health = self._health.model_copy(
                update={
                    "reason": f"{self._health.reason} The local audit spool {self.spool.path} cannot be written "
                    f"({(err.strerror or str(err)).lower()}); {len(self._queue)} entries wait in memory."
                }
            )
            self.on_change()
            return
        self._queue.clear()
        self.on_change()

    async def run(self) -> None:
        """Deliver forever, in order; while the backend is down, ping it until it answers."""
        while True:
            if not self.queued and self._health.status is HealthStatus.UP:
                self._wake.clear()
                await self._wake.wait()
            if not self._is_up():
                await asyncio.sleep(RETRY_EVERY)
                await self._ping()
                if not self._is_up():
                    self._to_spool()
                    continue
            await self.flush()

    async def follow(self, seen: Callable[[AuditEvent], None] = lambda _e: None) -> None:
        """Show what others append to the audit log (another room, the world's own controller) as it comes:
        a read-only room or a wall tells the same story as the room that drives. Entries this trail wrote are
        shown already and skipped. A broken feed turns the audit dot down (the pings of `run` bring it back)
        and is followed again from where it stopped."""
        if not isinstance(self.audit, AuditFeed):
            return
        feed = self.audit
        while True:
            try:
                await self._take_all(feed, seen)
            except BackendError as err:
                self._down(err)
            except Exception as err:  # a bug in a backend: the dot says so, and the feed is tried again
                self._down(BackendError("audit", f"Following the audit log failed ({type(err).__name__}: {err})."))
            self._wake.set()  # `run` pings while the dot is down
            await asyncio.sleep(RETRY_EVERY)

    async def _take_all(self, feed: AuditFeed, seen: Callable[[AuditEvent], None]) -> None:
        async for event in feed.follow():
            if _identity(event) not in self._written:
                self.events.append(event)
                seen(event)
                self.on_change()

    # ------------------------------------------------------------ health
    def _is_up(self) -> bool:
        return self._health.status is HealthStatus.UP

    async def _ping(self) -> None:
        if self.audit is None:
            return
        try:
            await self.audit.ping()
        except BackendError as err:
            self._down(err)
            return
        self._up()

    def _down(self, err: BackendError) -> None:
        if self._health.status is not HealthStatus.DOWN or self._health.reason != err.sentence:
            self._health = BackendHealth(
                name="audit",
                kind=self._health.kind,
                status=HealthStatus.DOWN,
                reason=err.sentence,
                since=self.clock.now(),
            )
            self.on_change()

    def _up(self) -> None:
        if self._health.status is not HealthStatus.UP:
            self._health = BackendHealth(name="audit", kind=self._health.kind, since=self.clock.now())
            self.on_change()


def _identity(event: AuditEvent) -> tuple[str, str, str, str]:
    """What an entry is known by when it comes back from the audit log (its time survives exactly)."""
    return repr(float(event.t)), event.actor, event.target, event.action
