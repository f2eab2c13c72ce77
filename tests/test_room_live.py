"""The room on the real engine and simulator (virtual clock): the wiring end to end."""

from __future__ import annotations

from app.clock import VirtualClock
from app.factory import RoomOptions, make_app
from widgets.detail import RolloutDetail
from widgets.header import RoomHeader
from widgets.rollouts_table import RolloutsTable


async def test_room_follows_the_engine_on_a_virtual_clock() -> None:
    clock = VirtualClock()
    app = make_app(RoomOptions(virtual=True, seed=7), clock=clock)
    app.animation_level = "none"
    async with app.run_test(size=(160, 45)) as pilot:
        await app.workers.wait_for_complete()
        await clock.run_for(120, step=5)
        await pilot.pause()
        table = app.query_one(RolloutsTable)
        keys = [r.key for r in app.engine.state.rollouts]
        assert keys and table.shown_keys == keys
        header = app.query_one(RoomHeader)
        assert header.clock_text.endswith("UTC") and header.clock_text != "--:--:-- UTC"
        assert app.query_one(RolloutDetail).rollout is not None
        first = app.engine.state.t
        await clock.run_for(30, step=5)
        await pilot.pause()
        assert app.state.t > first  # snapshots keep arriving as the clock moves


async def test_read_only_room_on_the_engine_has_no_write_keys() -> None:
    app = make_app(RoomOptions(virtual=True, read_only=True, seed=7), clock=VirtualClock())
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("a", "s", "p")
        assert "a" not in app.screen.active_bindings
        assert app.query_one(RoomHeader).query_one(".mode").render().plain == "READ-ONLY"
