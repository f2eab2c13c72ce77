"""Helpers for controller tests: a simulated world from inline scenario YAML, on a virtual clock."""

from __future__ import annotations

import textwrap
from pathlib import Path

from app.clock import EPOCH, VirtualClock
from app.factory import Demo, RoomOptions, make_demo
from app.model import Rollout

CANARY = "microservices/microservices-canary"
FRONTEND = "microservices/frontend"


def scenario_file(tmp_path: Path, body: str, name: str = "t") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(body))
    return str(path)


def demo(
    tmp_path: Path, body: str, *, actor: str = "alice@desk", clock: VirtualClock | None = None, read_only: bool = False
) -> Demo:
    clock = clock or VirtualClock()
    options = RoomOptions(scenario=scenario_file(tmp_path, body), virtual=True, actor=actor, read_only=read_only)
    return make_demo(options, clock)


def rollout(d: Demo, key: str) -> Rollout:
    r = d.engine.state.rollout(key)
    assert r is not None, f"no rollout {key} in the snapshot"
    return r


def t(d: Demo) -> float:
    """Seconds since the start of the virtual clock."""
    return d.clock.now() - EPOCH


def actions(d: Demo, target: str = CANARY) -> list[tuple[float, str]]:
    return [(round(e.t - EPOCH), e.action) for e in d.engine.state.events if e.target == target]


async def run_until(d: Demo, predicate, limit: float = 1200.0, step: float = 1.0) -> float:
    """Advance the clock until `predicate(demo)` holds; fail after `limit` seconds."""
    start = t(d)
    while t(d) - start < limit:
        await d.clock.advance(step)
        await d.engine.idle()
        if predicate(d):
            return t(d)
    raise AssertionError(
        f"condition not reached within {limit:g} s; last state: "
        f"{[(r.name, r.phase.value, r.message) for r in d.engine.state.rollouts]}"
    )
