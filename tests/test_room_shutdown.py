"""A snapshot that reaches the room while it shuts down (the engine publishes until it is stopped) is
kept, not drawn into screens that are being taken apart."""

from __future__ import annotations

from app.room import StateUpdated
from tests.test_room_pilot import WIDE, make
from tests.ui_states import STATE, replace_rollout


async def test_a_snapshot_during_shutdown_is_kept_and_not_drawn() -> None:
    app, _engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
    # the app has shut down: its screens' widgets are gone, a late snapshot is still delivered to it
    late = replace_rollout(STATE, "web/search", step=4)
    app.on_state_updated(StateUpdated(late))
    assert app.state is late
