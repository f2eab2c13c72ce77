"""Screens as pictures, from the fixed state in tests/ui_states.py (no clock, no randomness).

The real room (`make_app`, simulator, VirtualClock) is pictured in
test_snapshots_live.py; these keep covering the layout on hand-built states:
every phase at once, a no-data check, a router still moving, another room driving.
"""

from __future__ import annotations

from app.model import Mode
from app.room import ShiftroomApp
from tests.ui_states import ROOM, STATE, WALL, StaticEngine

WIDE = (160, 45)


def room(theme: str = "dark", read_only: bool = False) -> ShiftroomApp:
    state = STATE.model_copy(update={"mode": Mode.READ_ONLY}) if read_only else STATE
    # A read-only room never holds a lease: the rollouts are driven by another room.
    identity = "wall@lobby#1" if read_only else ROOM
    app = ShiftroomApp(
        StaticEngine(state=state, read_only=read_only, identity=identity), theme=theme, wall_clock=lambda: WALL
    )
    app.animation_level = "none"
    return app


def test_main_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(room(), terminal_size=WIDE)


def test_main_screen_narrow(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(room(), terminal_size=(80, 24))


def test_help_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(room(), terminal_size=WIDE, press=["question_mark"])


def test_wall_theme_read_only(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(room(theme="wall", read_only=True), terminal_size=WIDE)


def test_light_theme_flags(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(room(theme="light"), terminal_size=WIDE, press=["2"])


NARROW = (80, 24)


def test_flags_narrow(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """80×24 Flags: who gets each flag, in the seed's evaluation order; the footer has only the Flags keys."""
    assert snap_compare(room(), terminal_size=NARROW, press=["2"])


def test_experiments_narrow(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """80×24 Experiments: every variant of every experiment in view above the detail pane."""
    assert snap_compare(room(), terminal_size=NARROW, press=["3"])


def test_production_confirmation_narrow(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """80×24: the typed-name confirmation fits, the name field has focus and shows no placeholder."""
    assert snap_compare(room(), terminal_size=NARROW, press=["a"])


def test_production_confirmation_wrong_name(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """Enter on a wrong name keeps the dialog and says what is expected."""
    assert snap_compare(room(), terminal_size=WIDE, press=["a", *"checkou", "enter"])
