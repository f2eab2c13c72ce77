"""The one place a verb gets its engine: `open_session(options)` returns a started engine and its clock.

`--demo SCENARIO` runs the simulator on a virtual clock, so a ten-minute canary
is waited for in a fraction of a second; the Kubernetes backend plugs in here
(its flags become fields of `BackendOptions`) without the verbs changing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.clock import Clock, VirtualClock
from app.model import HealthStatus, RoomState

if TYPE_CHECKING:
    from app.factory import Demo


class NoBackend(Exception):
    """The verb was given no backend it can use (or a scenario that cannot be read): one sentence, bad input."""


class Unreachable(Exception):
    """The backend could not be reached: one sentence."""


@dataclass
class BackendOptions:
    demo: str | None = None  # scenario name or file: the simulator on a virtual clock
    seed: int | None = None
    at: float = 0.0  # demo: simulated seconds to run the scenario before the verb looks
    read_only: bool = False  # status and wait only watch
    actor: str | None = None


@dataclass
class Session:
    engine: Any
    clock: Clock
    virtual: bool

    @property
    def state(self) -> RoomState:
        return self.engine.state  # type: ignore[no-any-return]

    async def advance(self, seconds: float) -> None:
        """Let `seconds` of clock time pass (virtual: at once; otherwise: really wait)."""
        if isinstance(self.clock, VirtualClock):
            await self.clock.run_for(seconds, step=1.0)
        else:
            await asyncio.sleep(seconds)

    async def close(self) -> None:
        await self.engine.stop()


def cluster_down(state: RoomState) -> str:
    """The reason the cluster backend is down, or ""."""
    for h in state.health:
        if h.name == "cluster" and h.status is HealthStatus.DOWN:
            return h.reason or "the cluster backend is down"
    return ""


async def open_session(options: BackendOptions) -> Session:
    if options.demo is None:
        raise NoBackend("shiftroom: this verb needs a backend: give --demo [SCENARIO] to run it on the simulator.")
    session = _demo_session(options)
    await session.engine.start()
    await session.advance(max(1.0, options.at))
    if cluster_down(session.state):  # a pipeline step learns at once that it cannot see the cluster
        reason = cluster_down(session.state)
        await session.close()
        raise Unreachable(f"shiftroom: the cluster could not be reached: {reason}")
    return session


def _demo_session(options: BackendOptions) -> Session:
    from app.factory import RoomOptions, make_demo
    from backends.sim.scenario import ScenarioError

    clock = VirtualClock()
    room = RoomOptions(
        scenario=options.demo or "", seed=options.seed, virtual=True, read_only=options.read_only, actor=options.actor
    )
    try:
        demo: Demo = make_demo(room, clock)
    except ScenarioError as err:
        raise NoBackend(f"shiftroom: {err}") from None  # read-only: the world's own controller drives beside it
    return Session(engine=demo.engine, clock=clock, virtual=True)
