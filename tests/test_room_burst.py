"""A tab switch and a filter typed in one burst (a paste, or a laggy SSH link): the filter keeps every key."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from app.model import Strategy
from app.screens.main import MainScreen
from tests.test_room_oncall import NARROW, WIDE, burst, make
from tests.ui_states import STATE
from widgets.rollouts_table import RolloutsTable


@pytest.mark.parametrize("size", [WIDE, NARROW])
@pytest.mark.parametrize("start", ["2", "3"])
async def test_tab_then_filter_in_one_burst_keeps_the_filter_text(size: tuple[int, int], start: str) -> None:
    app, _ = make()
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press(start)  # another tab first, so `1` really switches
        await pilot.pause()
        burst(app, "1/canary")
        for _ in range(5):
            await pilot.pause()
        assert screen.active_tab == "rollouts"
        assert screen.query_one("#filter", Input).value == "canary"
        assert screen.filters["rollouts"] == "canary"
        assert screen.filters["flags"] == "" and screen.filters["experiments"] == ""
        table = screen.query_one(RolloutsTable)
        assert table.border_title == "rollouts  /canary"
        keys = table.shown_keys
        # The kind column says `canary`; at 80 columns it is not shown, and the filter still sees it.
        canaries = [r.key for r in STATE.rollouts if r.strategy is Strategy.CANARY]
        assert keys == canaries and len(keys) < len(STATE.rollouts), "the rows are filtered, not just the title"


async def test_filter_burst_on_another_tab_then_back_keeps_each_tab_its_own_filter() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        for part in ("2/check", "\r", "1/pay", "\r"):  # one burst: nothing awaited between the parts
            if part == "\r":
                enter = events.Key("enter", "\r")
                enter.set_sender(app)
                assert app._driver is not None
                app._driver.send_message(enter)
            else:
                burst(app, part)
        for _ in range(5):
            await pilot.pause()
        assert screen.filters["flags"] == "check"
        assert screen.filters["rollouts"] == "pay"
        assert screen.active_tab == "rollouts"


async def test_letters_behind_the_slash_are_text_never_commands() -> None:
    """`q` quits and `f` toggles the statistics on the screen's bindings: typed behind `/` they are filter text."""
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        sequential = screen.sequential
        burst(app, "3/fq1")
        for _ in range(5):
            await pilot.pause()
        assert app.is_running and app.screen is screen
        assert screen.active_tab == "experiments" and screen.filters["experiments"] == "fq1"
        assert screen.sequential == sequential


async def test_a_production_confirmation_that_no_longer_applies_stops_asking_for_the_name() -> None:
    """Seen in the demo: 'frontend is Succeeded: nothing to abort' under 'This is production. Type frontend'."""
    from textual.widgets import Button

    from app.control.commands import Preview, RolloutCommand
    from app.screens.confirm import ConfirmScreen

    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")  # abort shop/checkout (production)
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen) and dialog.confirm_name
        assert dialog.query_one("#confirm-prompt").display and isinstance(dialog.focused, Input)

        async def gone(command: RolloutCommand) -> Preview:
            return Preview(
                command,
                "Abort shop/checkout",
                ("checkout is Succeeded: nothing to abort",),
                possible=False,
                confirm_name="checkout",
            )

        engine.preview = gone  # type: ignore[method-assign]
        engine.publish(STATE.model_copy(update={"seq": 100}))
        for _ in range(3):
            await pilot.pause()
        for part in ("#confirm-prompt", "#confirm-name", "#confirm-hint"):
            assert not dialog.query_one(part).display, f"{part} still asks for the name"
        assert dialog.query_one("#confirm", Button).disabled
        assert dialog.focused is dialog.query_one("#cancel")
        burst(app, "checkout")
        await pilot.press("enter")  # Enter on Cancel: closes, nothing done
        await pilot.pause()
        assert engine.acted == []
