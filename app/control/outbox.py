"""Slow deliveries off the pass: notifiers, post-rollout webhooks. One bounded queue per destination.

`put(destination, work)` never waits. Each destination delivers in order on a
task of its own, so a notifier that takes 5 s delays neither a decision nor
another destination. A full queue drops its oldest entry and says so in the
destination's health; a failure marks it down with its sentence. `stop()` first gives
what is queued a few seconds to go out (a rollback's notification sent as the room
closes is not dropped), then says how many did not.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from app.control.health import HealthBoard
from backends.base import BackendError

Work = Callable[[], Awaitable[None]]
LIMIT = 100  # queued deliveries per destination
GRACE = 3.0  # real seconds `stop()` waits for queued deliveries


class Outbox:
    def __init__(self, health: HealthBoard, *, limit: int = LIMIT) -> None:
        self.health = health
        self.limit = limit
        self._queues: dict[str, deque[tuple[str, Work]]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.dropped = 0
        self._busy: set[str] = set()  # destinations delivering right now

    def queued(self, destination: str | None = None) -> int:
        if destination is not None:
            return len(self._queues.get(destination, ()))
        return sum(len(q) for q in self._queues.values())

    def put(self, destination: str, work: Work, *, health: str = "") -> None:
        """Queue `work` for `destination`; `health` names the header entry its failures mark."""
        queue = self._queues.setdefault(destination, deque())
        if len(queue) >= self.limit:
            queue.popleft()
            self.dropped += 1
            if health:
                self.health.mark(
                    health, BackendError(health, f"{destination} is too slow: {self.dropped} deliveries were dropped.")
                )
        queue.append((health, work))
        self._wake.setdefault(destination, asyncio.Event()).set()
        if destination not in self._tasks:
            self._tasks[destination] = asyncio.create_task(self._deliver(destination))

    async def _deliver(self, destination: str) -> None:
        queue, wake = self._queues[destination], self._wake[destination]
        while True:
            if not queue:
                wake.clear()
                await wake.wait()
                continue
            health, work = queue.popleft()
            self._busy.add(destination)
            try:
                await self._one(health, work)
            finally:
                self._busy.discard(destination)

    async def _one(self, health: str, work: Work) -> None:
        try:
            await work()
        except BackendError as err:
            if health:
                self.health.mark(health, err)
            return
        except Exception as err:  # a delivery must never stop the others: its sentence goes to the header
            if health:
                self.health.mark(health, BackendError(health, f"delivery failed: {type(err).__name__}: {err}"))
            return
        if health:
            self.health.mark_up(health)

    async def drain(self) -> None:
        """Wait until every queue is empty (tests, shutdown)."""
        while any(self._queues.values()) or self._busy:
            await asyncio.sleep(0.01)

    async def stop(self, grace: float = GRACE) -> int:
        """Deliver what is queued for up to `grace` seconds, then stop; the number of deliveries not made."""
        try:
            await asyncio.wait_for(self.drain(), timeout=grace)
        except TimeoutError:
            pass
        undelivered = self.queued() + len(self._busy)
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        return undelivered
