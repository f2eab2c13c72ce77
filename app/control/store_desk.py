"""The store's side of the command path (temporary adapter over `store_ops`; branch `store` replaces it).

Same interface as the real desk: `StoreDesk(store, trail, jobs, clock, read_only, instance)`,
`preview(cmd)`, `execute(cmd, confirmed, actor)`, `refresh()` and `health`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.control import store_ops
from app.control.audit_trail import AuditTrail
from app.control.commands import (
    Command,
    KillFlag,
    Preview,
    RebuildCounters,
    RestoreFlag,
    Result,
    SaveFlag,
    SetExperimentStatus,
    target_of,
)
from app.control.jobs import JobBoard
from app.model import AuditEvent, BackendHealth, Experiment, Flag, HealthStatus
from backends.base import BackendError, Store


@dataclass
class _Seat:
    """What `store_ops` expects of its `engine` argument."""

    store: Store | None
    clock: Clock
    read_only: bool
    actor: str
    trail: AuditTrail

    async def record(self, event: AuditEvent) -> None:
        self.trail.record(event)


class StoreDesk:
    def __init__(
        self, store: Store | None, trail: AuditTrail, jobs: JobBoard, clock: Clock, read_only: bool, instance: str
    ) -> None:
        self.store = store
        self.trail = trail
        self.jobs = jobs
        self.clock = clock
        self.read_only = read_only
        self.instance = instance
        self._health: BackendHealth | None = (
            BackendHealth(name="store", kind=store.name, since=clock.now()) if store is not None else None
        )

    @property
    def health(self) -> BackendHealth | None:
        return self._health

    async def refresh(self) -> tuple[tuple[Flag, ...], tuple[Experiment, ...]]:
        if self.store is None:
            return (), ()
        try:
            flags = tuple(await self.store.list_flags())
            experiments = tuple(await self.store.list_experiments())
        except BackendError as err:
            self._mark(err)
            raise
        self._mark(None)
        return flags, experiments

    def _mark(self, err: BackendError | None) -> None:
        if self.store is None:
            return
        if err is None:
            if self._health is None or self._health.status is not HealthStatus.UP:
                self._health = BackendHealth(name="store", kind=self.store.name, since=self.clock.now())
        elif self._health is None or self._health.reason != err.sentence:
            self._health = BackendHealth(
                name="store",
                kind=self.store.name,
                status=HealthStatus.DOWN,
                reason=err.sentence,
                since=self.clock.now(),
            )

    async def preview(self, cmd: Command) -> Preview:
        return Preview(cmd, f"{type(cmd).__name__} {target_of(cmd)}", version="")

    async def execute(self, cmd: Command, confirmed: Preview | None, actor: str) -> Result:
        seat = _Seat(self.store, self.clock, self.read_only, actor, self.trail)
        result: Any
        if isinstance(cmd, SaveFlag):
            result = await store_ops.edit_flag(seat, cmd.name, cmd.config, cmd.expected_version, reason=cmd.reason)
        elif isinstance(cmd, KillFlag):
            result = await store_ops.kill_flag(seat, cmd.name, cmd.reason)
        elif isinstance(cmd, RestoreFlag):
            result = await store_ops.restore_flag(seat, cmd.name, cmd.reason)
        elif isinstance(cmd, SetExperimentStatus):
            result = await store_ops.set_experiment_status(seat, cmd.experiment, cmd.status, cmd.reason)
        elif isinstance(cmd, RebuildCounters):
            return Result(
                False,
                f"experiment {cmd.experiment}: counter rebuilds run from the Experiments tab.",
                target=target_of(cmd),
            )
        else:
            return Result(False, f"{target_of(cmd)}: not a store command.", target=target_of(cmd))
        return Result(
            bool(result.ok),
            str(result.message),
            target=target_of(cmd),
            details={
                "errors": dict(result.errors),
                "conflict": result.conflict,
                "current": result.current,
                "version": result.version,
            },
        )
