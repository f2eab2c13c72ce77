"""What the engine asks of a controller (blue-green or canary), and which one a target gets."""

from __future__ import annotations

from typing import Protocol

from app.control.bluegreen import BlueGreenController
from app.control.canary import CanaryController
from app.control.commands import Preview, RolloutCommand
from app.control.context import Context
from app.model import MetricCheck, MetricSample, Rollout, Strategy, Target


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
