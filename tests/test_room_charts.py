"""`c` in the room: the charts of the selected rollout or experiment, over the room's own snapshot."""

from __future__ import annotations

import pytest

from app.screens.charts import ChartScreen
from app.screens.main import MainScreen
from tests.test_room_pilot import WIDE, make
from tests.ui_states import STATE
from widgets.charts import MetricChart, UpliftChart


@pytest.mark.parametrize("read_only", [False, True])
async def test_c_opens_the_selected_rollout_s_charts_and_c_closes_them(read_only: bool) -> None:
    app, _ = make(read_only=read_only)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("j")  # the second row: the charts follow the selection, not the first rollout
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChartScreen) and screen.key == STATE.rollouts[1].key
        await pilot.press("c")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("k", "c")
        await pilot.pause()
        assert isinstance(app.screen, ChartScreen) and app.screen.key == "shop/checkout"
        names = {s.name for s in STATE.series if s.target == "shop/checkout"}
        assert len(app.screen.query(MetricChart)) == len(names) > 0  # one chart per metric of that rollout
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_on_the_experiments_tab_c_charts_the_selected_experiment_and_flags_have_none() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        assert app.screen.check_action("charts", ()) is False  # not offered on the flags tab
        await pilot.press("c")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("3", "c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChartScreen) and screen.key == f"experiment:{STATE.experiments[0].id}"
        assert len(screen.query(UpliftChart)) == len(STATE.experiments[0].variants) - 1  # each variant vs control
