"""The audit trail: what the room shows as its event log, and delivery to the audit backend.

`record()` never waits for the network: the event joins the room's log at once
and a queue, and `run()` (a background task the engine owns) delivers the queue
in order. When the audit backend fails, the event stays at the head of the
queue, the trail's health turns down with the backend's sentence, and delivery
is retried after a ping succeeds; events keep their original times.
An event a store already wrote in the same transaction as its change
(`stored=True`) is shown but not written again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from app.clock import Clock
from app.model import AuditEvent, BackendHealth, HealthStatus
from backends.base import AuditLog, BackendError

RETRY_EVERY = 2.0  # clock seconds between delivery attempts while the backend is down


class AuditTrail:
    def __init__(
        self,
        audit: AuditLog | None,
        *,
        clock: Clock,
        on_change: Callable[[], None] = lambda: None,
        limit: int = 300,
    ) -> None:
        self.audit = audit
        self.clock = clock
        self.on_change = on_change
        self.events: deque[AuditEvent] = deque(maxlen=limit)
        self._queue: deque[AuditEvent] = deque()
        self._wake = asyncio.Event()
        kind = getattr(audit, "name", "audit") if audit is not None else "audit"
        self._health = BackendHealth(name="audit", kind=kind, since=clock.now())

    # ------------------------------------------------------------ what the engine asks
    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def health(self) -> BackendHealth | None:
        return self._health if self.audit is not None else None

    async def load(self) -> None:
        """The trail so far: what other rooms and earlier sessions decided."""
        if self.audit is None:
            return
        try:
            self.events.extend(await self.audit.recent(self.events.maxlen or 300))
        except BackendError as err:
            self._down(err)

    def record(self, event: AuditEvent, *, stored: bool = False) -> None:
        self.events.append(event)
        if self.audit is not None and not stored:
            self._queue.append(event)
            self._wake.set()
        self.on_change()

    async def flush(self) -> None:
        """Deliver what is queued now (tests, shutdown); stops at the first failure."""
        while self._queue and self.audit is not None:
            try:
                await self.audit.append(self._queue[0])
            except BackendError as err:
                self._down(err)
                return
            self._queue.popleft()
            self._up()

    async def run(self) -> None:
        """Deliver forever, in order; while the backend is down, ping it until it answers."""
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            await self.flush()
            if self._queue:
                await self.clock.sleep(RETRY_EVERY)
                await self._ping()

    # ------------------------------------------------------------ health
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
            self._health = BackendHealth(name="audit", kind=self._health.kind, status=HealthStatus.DOWN,
                                         reason=err.sentence, since=self.clock.now())
            self.on_change()

    def _up(self) -> None:
        if self._health.status is not HealthStatus.UP:
            self._health = BackendHealth(name="audit", kind=self._health.kind, since=self.clock.now())
            self.on_change()
