"""Each backend's health as the header shows it: up, stale (last good data, with its age) or down."""

from __future__ import annotations

from collections.abc import Callable

from app.clock import Clock
from app.model import BackendHealth, HealthStatus
from backends.base import BackendError


class HealthBoard:
    def __init__(self, clock: Clock, on_change: Callable[[], None] = lambda: None) -> None:
        self.clock = clock
        self.on_change = on_change
        self._health: dict[str, BackendHealth] = {}

    def add(self, name: str, kind: str) -> None:
        self._health[name] = BackendHealth(name=name, kind=kind, since=self.clock.now())

    def get(self, name: str) -> BackendHealth | None:
        return self._health.get(name)

    def mark(self, name: str, err: BackendError) -> None:
        old = self._health.get(name)
        if old is None or old.status is not HealthStatus.DOWN or old.reason != err.sentence:
            self._health[name] = BackendHealth(
                name=name,
                kind=old.kind if old else name,
                status=HealthStatus.DOWN,
                reason=err.sentence,
                since=self.clock.now(),
            )
            self.on_change()

    def mark_up(self, name: str) -> None:
        old = self._health.get(name)
        if old is not None and old.status is not HealthStatus.UP:
            self._health[name] = BackendHealth(name=name, kind=old.kind, since=self.clock.now())
            self.on_change()

    def put(self, health: BackendHealth) -> None:
        """A collaborator's own health (the cache's, the trail's, the store desk's)."""
        old = self._health.get(health.name)
        if old is None or (old.status, old.reason) != (health.status, health.reason):
            self._health[health.name] = health
            self.on_change()

    def snapshot(self) -> tuple[BackendHealth, ...]:
        return tuple(self._health.values())
