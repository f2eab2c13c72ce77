"""The one place a verb gets its engine: `open_session(options)` returns a started engine and its clock.

`--demo SCENARIO` runs the simulator on a virtual clock, so a ten-minute canary
is waited for in a fraction of a second. Without it the verb opens the room's
live engine on the current kubeconfig context (`app.verbs.live_session`, built
by `app.live` exactly as the room is), with the cluster flags in `live`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.clock import Clock, VirtualClock
from app.model import HealthStatus, RoomState

if TYPE_CHECKING:
    from app.config import Config
    from app.factory import Demo
    from app.live import LiveOptions


class NoBackend(Exception):
    """The verb was given no backend it can use (or a scenario that cannot be read): one sentence, bad input."""


class Unreachable(Exception):
    """The backend could not be reached: one sentence."""


@dataclass
class BackendOptions:
    demo: str | None = None  # scenario name or file: the simulator on a virtual clock
    seed: int | None = None
    at: float = 0.0  # demo: simulated seconds to run the scenario before the verb looks
    read_only: bool = False  # status and wait only watch (on a cluster: nothing but GET requests)
    actor: str | None = None
    live: LiveOptions | None = None  # no demo: the cluster flags (--kubeconfig, --context, -n, -A, ...)
    config: Config | None = None
    drive: str | None = None  # live commands: drive only the configured target(s) of this name, leave the rest
    list_timeout: float = 20.0  # live: real seconds for the cluster watch's first list


@dataclass
class Session:
    engine: Any
    clock: Clock
    virtual: bool
    known: tuple[str, ...] = ()  # keys of configured targets this session did not open (`drive`)
    closers: tuple[Any, ...] = ()  # live: backend clients to close after the engine stops

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
        if self.closers:
            from app.verbs.live_session import close_all

            await close_all(self.closers)


def cluster_down(state: RoomState) -> str:
    """The reason the cluster backend is down, or ""."""
    for h in state.health:
        if h.name == "cluster" and h.status is HealthStatus.DOWN:
            return h.reason or "the cluster backend is down"
    return ""


async def open_session(options: BackendOptions) -> Session:
    if options.demo is None:
        from app.verbs.live_session import live_session

        session = await live_session(options)
    else:
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
