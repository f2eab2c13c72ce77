"""Screens as pictures of the real room: `make_app` on the simulator, a virtual clock and a seed.

Nothing in these frames comes from the wall clock, the host or the process:
the clock is a `VirtualClock` (it starts at a fixed instant and moves only in
`run_before`), each scenario is seeded, animations are off, the actor is fixed
(`oncall@room`), and so is the room instance that decides and holds the leases
(`shiftroom`, instead of `shiftroom@host#pid`); the why pane says "driven by
this room" for it, and no pid reaches the frame.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.pilot import Pilot

from app.clock import VirtualClock
from app.factory import RoomOptions, make_app
from app.room import ShiftroomApp
from backends.sim.defaults import DEFAULT_TARGETS
from backends.sim.scenario import load_scenario

WIDE = (160, 45)
NARROW = (80, 24)
ACTOR = "oncall@room"
INSTANCE = "shiftroom"

# bad-canary, seed 23: 1.5.0 is released at 20 s, passes at 10% and 20%, then
# fails from 30%. At 215 s the analysis has counted 3 of 5 failures and the
# next tick is 15 s away; by 275 s it has rolled back.
MID_ANALYSIS = 215
ROLLED_BACK = 275
# blue-green, seed 5: 2.0.1 is released at 120 s; green is probed every 5 s from ~145 s.
HEALTH_STAGE = 152


def room(scenario: str | Path, seed: int) -> tuple[ShiftroomApp, VirtualClock]:
    clock = VirtualClock()
    app = make_app(
        RoomOptions(scenario=str(scenario), seed=seed, virtual=True, actor=ACTOR, instance=INSTANCE), clock=clock
    )
    app.animation_level = "none"
    return app, clock


def advance(app: ShiftroomApp, clock: VirtualClock, seconds: float) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """`run_before`: wait for the engine to start (so its ticks line up with t=0), then move the clock."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await clock.run_for(seconds)
        await pilot.pause()
        # This room drives every target in progress (an idle one holds no Lease), and nothing of the
        # process (its pid) is in the frame.
        assert app.engine.identity == INSTANCE
        assert all(r.driver in ("", INSTANCE) for r in app.engine.state.rollouts)
        assert f"#{os.getpid()}" not in app.export_screenshot()

    return run_before


def production_scenario(tmp_path: Path) -> Path:
    """bad-canary with its canary target marked `production: true` (typed-name confirmation)."""
    data = yaml.safe_load(resources.files("backends.sim").joinpath("scenarios", "bad-canary.yaml").read_text("utf-8"))
    data["name"] = "prod-canary"
    data["targets"] = [
        t.model_copy(update={"production": t.name == "microservices-canary"}).model_dump(mode="json")
        for t in DEFAULT_TARGETS
    ]
    path = tmp_path / "prod-canary.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------- (a) the main screen


def test_live_main_screen_mid_analysis(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room("bad-canary", 23)
    assert snap_compare(app, terminal_size=WIDE, run_before=advance(app, clock, MID_ANALYSIS))


# ---------------------------------------------------------------- (b) the why pane of a failing canary


def test_live_why_failing_canary(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room("bad-canary", 23)
    assert snap_compare(app, terminal_size=WIDE, run_before=advance(app, clock, MID_ANALYSIS), press=["j"])


def test_live_why_failing_canary_narrow(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room("bad-canary", 23)
    assert snap_compare(app, terminal_size=NARROW, run_before=advance(app, clock, MID_ANALYSIS), press=["j"])


def test_live_why_rolled_back(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room("bad-canary", 23)
    assert snap_compare(app, terminal_size=WIDE, run_before=advance(app, clock, ROLLED_BACK), press=["j"])


# ---------------------------------------------------------------- (c) confirmations


def test_live_confirm_abort(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room("bad-canary", 23)
    assert snap_compare(app, terminal_size=WIDE, run_before=advance(app, clock, MID_ANALYSIS), press=["j", "a"])


def test_live_confirm_abort_production(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, clock = room(production_scenario(tmp_path), 23)
    assert snap_compare(app, terminal_size=WIDE, run_before=advance(app, clock, MID_ANALYSIS), press=["j", "a"])


# ---------------------------------------------------------------- (d) blue-green


def test_live_blue_green_health_checks(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room("blue-green", 5)
    assert snap_compare(app, terminal_size=WIDE, run_before=advance(app, clock, HEALTH_STAGE))


@pytest.mark.parametrize("name", ["bad-canary", "blue-green"])
def test_scenarios_used_here_are_seeded(name: str) -> None:
    """The pictures above rely on these scenarios existing under these names."""
    assert load_scenario(name).name == name
