"""The one clock everything that waits goes through.

`Clock.now()` is seconds since the epoch; `await Clock.sleep(s)` waits that many
clock seconds. Three implementations:

- `RealClock`: wall time.
- `ScaledClock`: the demo's clock, running `speed` times faster than real time.
- `VirtualClock`: time moves only when `advance()` is called; the simulator's
  headless runs and the tests use it, so a 10-minute canary takes milliseconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

#: 2026-01-01T00:00:00Z, the virtual clock's default start: fixed, so snapshots are stable.
EPOCH = 1767225600.0


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Real time multiplied by `speed`, starting at `start`."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._t0 = time.monotonic()
        self._start = time.time() if start is None else start

    def now(self) -> float:
        return self._start + (time.monotonic() - self._t0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class VirtualClock:
    """A clock that only moves when told to.

    Sleepers are woken in deadline order; after each wake-up the event loop is
    given a few turns so the woken task can run up to its next sleep before
    time moves on.
    """

    def __init__(self, start: float = EPOCH) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    @property
    def next_deadline(self) -> float | None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled sleepers
        return self._sleepers[0][0] if self._sleepers else None

    async def settle(self, turns: int = 20) -> None:
        """Let ready tasks run without moving time."""
        for _ in range(turns):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking every sleeper due on the way."""
        target = self._now + max(0.0, seconds)
        await self.settle()
        while True:
            deadline = self.next_deadline
            if deadline is None or deadline > target:
                break
            self._now = max(self._now, deadline)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, fut = heapq.heappop(self._sleepers)
                if not fut.done():
                    fut.set_result(None)
            await self.settle()
        self._now = target
        await self.settle()

    async def run_for(self, seconds: float, step: float = 1.0) -> None:
        """Advance in `step` increments (so periodic tasks interleave naturally)."""
        remaining = seconds
        while remaining > 1e-9:
            dt = min(step, remaining)
            await self.advance(dt)
            remaining -= dt
