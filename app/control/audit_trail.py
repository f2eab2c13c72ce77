"""The audit trail: what the room shows as its event log, and delivery to the audit backend.

`record()` never waits for the network: the event joins the room's log at once
and a queue, and `run()` (a background task the engine owns) delivers the queue
in order. When the audit backend fails, the trail's health turns down with the
backend's sentence and everything queued goes to the durable spool
(`audit_spool`: appended and fsync'd in the user's state directory); the
backend is pinged every `RETRY_EVERY` real seconds, health turns up as soon as
a ping succeeds, and the spool is replayed in order, entries keeping their
original times. A room started with a non-empty spool replays it first.
`queued` counts what waits (memory and spool), for the header's "audit: N queued".
An event a store already wrote in the same transaction as its change
(`stored=True`) is shown but not written again.

Exactly once: each recorded event gets a delivery id (`audit_spool.new_id`) that
stays with it in memory and in the spool. A backend with the `IdempotentAudit`
capability (the Redis stream) writes an id at most once, so neither a reply lost
after the backend took an entry (the entry is spooled and sent again) nor a room
killed in the middle of a replay (the spool still lists what was delivered)
repeats an entry. Other backends are written with `append`: at least once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from pathlib import Path

from app.clock import Clock
from app.control.audit_spool import Entry, Spool, new_id
from app.model import AuditEvent, BackendHealth, HealthStatus
from backends.base import AuditLog, BackendError, IdempotentAudit

RETRY_EVERY = 1.0  # real seconds between pings while the backend is down (an I/O cadence, not domain time)


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
        self.once: IdempotentAudit | None = audit if isinstance(audit, IdempotentAudit) else None
        self.spool = Spool(spool_dir)
        self.clock = clock
        self.on_change = on_change
        self.events: deque[AuditEvent] = deque(maxlen=limit)
        self._queue: deque[Entry] = deque()  # (delivery id, event), in order
        self._wake = asyncio.Event()
        kind = audit.name if audit is not None else "audit"
        self._health = BackendHealth(name="audit", kind=kind, since=clock.now())

    # ------------------------------------------------------------ what the engine asks
    @property
    def queued(self) -> int:
        return len(self._queue) + self.spool.count

    @property
    def health(self) -> BackendHealth | None:
        return self._health if self.audit is not None else None

    async def load(self) -> None:
        """The trail so far: what other rooms and earlier sessions decided."""
        if self.audit is None:
            return
        if self.spool.pending():
            self._wake.set()  # an earlier room left entries: replay them first
        try:
            self.events.extend(await self.audit.recent(self.events.maxlen or 300))
        except BackendError as err:
            self._down(err)

    def record(self, event: AuditEvent, *, stored: bool = False) -> None:
        self.events.append(event)
        if self.audit is not None and not stored:
            self._queue.append((new_id(), event))
            if self._health.status is not HealthStatus.UP:
                self._to_spool()  # the backend is down: durable at once, not at the next retry
            self._wake.set()
        self.on_change()

    async def flush(self) -> None:
        """Deliver what waits now, spool first (tests, shutdown); stops at the first failure."""
        if self.audit is None:
            return
        try:
            if self.spool.count:
                await self.spool.replay(self._deliver)
            while self._queue:
                uid, event = self._queue[0]
                await self._deliver(event, uid)
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

    async def _deliver(self, event: AuditEvent, uid: str) -> None:
        if self.once is not None:
            await self.once.append_once(event, uid)  # False: delivered before, the log has it once
        elif self.audit is not None:
            await self.audit.append(event)

    def _to_spool(self) -> None:
        """What is queued in memory goes to disk, in order, so a crash of the room loses none of it."""
        if not self._queue:
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
