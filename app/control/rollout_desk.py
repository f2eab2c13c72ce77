"""Rollout commands: preview once, execute with the preview, refuse it when the target changed since.

The desk owns one lock per target; a target's tick holds the same lock, so a
command never interleaves with a decision about the same target, and never
waits for another target's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from app.control.commands import Preview, Result, RolloutCommand
from app.control.health import HealthBoard
from app.control.leases import HandsOff, LeaseKeeper
from app.control.versions import encode, stale_message
from backends.base import BackendError

if TYPE_CHECKING:
    from app.control.controllers import Controller


def named(key: str, sentence: str) -> str:
    """Every answer names its target."""
    name = key.split("/")[-1]
    return sentence if name in sentence else f"{key}: {sentence}"


class RolloutDesk:
    def __init__(
        self,
        controllers: dict[str, Controller],
        leases: LeaseKeeper,
        health: HealthBoard,
        *,
        identity: str,
        read_only: bool,
        done: Callable[[], None],
    ) -> None:
        self.controllers = controllers
        self.leases = leases
        self.health = health
        self.identity = identity
        self.read_only = read_only
        self.done = done  # publish after a command changed something
        self.locks = {key: asyncio.Lock() for key in controllers}

    def preview(self, cmd: RolloutCommand) -> Preview:
        key, verb = cmd.target, cmd.verb.value
        ctl = self.controllers.get(key)
        if ctl is None:
            return Preview(cmd, verb, (f"no target {key} in this room",), possible=False)
        if self.read_only:
            return Preview(
                cmd, verb, (f"{key}: this room is read-only, the backends refuse every write",), possible=False
            )
        holder = self.leases.holder(key)
        if holder and holder != self.identity:
            return Preview(cmd, verb, (f"{key} is driven by {holder}; this room is hands-off",), possible=False)
        try:
            ctl.observe()
        except BackendError as err:
            return Preview(cmd, verb, (f"{key}: {err.sentence}",), possible=False)
        return replace(ctl.commands.preview(cmd), version=encode(ctl.version(), driver=holder))

    async def execute(self, cmd: RolloutCommand, confirmed: Preview | None, actor: str) -> Result:
        key = cmd.target
        if key not in self.locks:
            return Result(False, f"no target {key} in this room", target=key)
        async with self.locks[key]:
            fresh = self.preview(cmd)
            if confirmed is not None and confirmed.version != fresh.version:
                return Result(
                    False, stale_message(key, confirmed.version, fresh.version), target=key, stale=True, preview=fresh
                )
            if not fresh.possible:
                line = fresh.lines[0] if fresh.lines else f"{cmd.verb.value} does not apply to {key} now"
                return Result(False, named(key, line), target=key, preview=fresh)
            ctl = self.controllers[key]
            try:
                await self.leases.claim(ctl.target)  # the Lease first (one write when idle), then the command
            except HandsOff as err:
                return Result(False, err.sentence, target=key)
            except BackendError as err:
                self.health.mark("cluster", err)
                return Result(False, named(key, err.sentence), target=key)
            try:
                message = await ctl.commands.act(cmd, actor)
            except BackendError as err:
                self.health.mark("cluster", err)
                return Result(False, named(key, err.sentence), target=key)
        self.done()
        return Result(True, named(key, message), target=key)
