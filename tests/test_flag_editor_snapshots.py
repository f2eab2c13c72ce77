"""Snapshots of the flag editor and the kill switch on the simulated room (virtual clock, seeded data)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, RadioButton, Switch, TextArea

from app.screens.confirm import ConfirmScreen
from tests.test_flag_editor import WIDE, open_editor, room, settle
from widgets.flags_list import FlagsList


def _no_blink(app: Any) -> None:
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False


def test_snapshot_editor_with_errors_and_preview(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room()

    async def run_before(pilot: Any) -> None:
        editor = await open_editor(pilot, clock, flag="new-product-design")
        _no_blink(app)
        editor.query_one("#field-environments", Input).value = "production, staging, qa"
        editor.query_one("#field-percentage", Input).value = "150"
        editor.query_one("#field-public", TextArea).text = '{"layout": "grid", theme: v3}'
        editor.query_one("#bucketing-flag-salted", RadioButton).value = True
        await settle(pilot)
        editor.query_one("#field-percentage", Input).focus()
        await settle(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_snapshot_editor_diff_before_save(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room()

    async def run_before(pilot: Any) -> None:
        editor = await open_editor(pilot, clock, flag="ai-recommendations")
        editor.query_one("#field-percentage", Input).value = "30"
        editor.query_one("#field-enabled", Switch).value = True
        editor.query_one("#field-environments", Input).value = "staging"
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_snapshot_kill_switch_confirmation(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room()

    async def run_before(pilot: Any) -> None:
        await clock.run_for(30, step=5)
        await pilot.press("2")
        assert app.query_one(FlagsList).select_key("new-product-design")
        await pilot.press("K")
        await settle(pilot)
        _no_blink(app)
        app.screen.query_one("#kill-name", Input).value = "new-product-design"
        app.screen.query_one("#kill-reason", Input).value = "checkout 500s after the grid layout shipped"
        await pilot.pause()

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)
