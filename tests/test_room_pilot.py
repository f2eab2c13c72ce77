"""The room driven with Pilot: navigation, help, filter, read-only, actions, keyed updates."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input, TabbedContent

from app.model import Phase
from app.room import ShiftroomApp
from app.screens.confirm import ConfirmScreen
from app.screens.control import ACTION_BINDINGS, ControlScreen
from app.screens.help import HelpScreen
from app.screens.main import MainScreen
from tests.ui_states import STATE, WALL, StaticEngine, replace_rollout
from widgets.detail import RolloutDetail
from widgets.event_log import EventLog
from widgets.flags_list import FlagsList
from widgets.header import RoomHeader
from widgets.rollouts_table import RolloutsTable

WIDE = (160, 45)
ALL_KEYS = [r.key for r in STATE.rollouts]


def make(read_only: bool = False, **kw: object) -> tuple[ShiftroomApp, StaticEngine]:
    engine = StaticEngine(state=STATE, read_only=read_only)
    app = ShiftroomApp(engine, wall_clock=lambda: WALL, **kw)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app, engine


async def test_rows_and_panes_drive_the_detail_pane() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        detail = app.query_one(RolloutDetail)
        table = app.query_one(RolloutsTable)
        assert table.has_focus
        assert detail.rollout is not None and detail.rollout.key == "shop/checkout"
        status = detail.why.status_text
        assert "failed checks 1/5  ●●✕●●●" in status and "next check in 12s" in status
        assert [s.name for s in detail.series] == ["request-success-rate", "request-duration-p99", "error-rate"]
        await pilot.press("j")
        assert detail.rollout.key == "web/frontend"
        assert detail.series == ()  # no metric series for that target: no sparklines
        assert "guard watching 4m 10s more" in detail.why.status_text
        await pilot.press("down", "down")
        assert detail.rollout.key == "web/search"
        await pilot.press("k")
        assert detail.rollout.key == "shop/payments"
        assert any("BREACH" in label for label in detail.metric_labels)
        # tab moves to the next pane; j there still walks the rollouts
        await pilot.press("tab")
        assert app.focused is app.query_one(EventLog)
        await pilot.press("j")
        assert detail.rollout.key == "web/search"
        await pilot.press("tab")
        assert app.focused is detail


async def test_tabs_render_hidden_panes_only_when_shown() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        flags = app.query_one(FlagsList)
        assert flags.row_count == 0  # never shown yet: never rendered
        await pilot.press("2")
        assert app.query_one(TabbedContent).active == "flags"
        assert flags.shown_keys == [f.name for f in STATE.flags]
        await pilot.press("1")
        engine.publish(STATE.model_copy(update={"flags": STATE.flags[:2], "seq": 99}))
        await pilot.pause()
        assert flags.row_count == 4  # hidden: untouched
        await pilot.press("2")
        assert flags.shown_keys == [f.name for f in STATE.flags[:2]]


async def test_help_lists_every_binding_including_the_action_keys() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.text
        for binding in ACTION_BINDINGS:
            assert binding.description in text
        for line in ("s            Step", "space        Pause", "/            Filter", "?            Help"):
            assert line in text
        await pilot.press("escape")
        assert isinstance(app.screen, ControlScreen)


async def test_help_follows_a_remapped_key() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        app.set_keymap({"abort": "x"})
        await pilot.press("question_mark")
        assert "x            Abort" in app.screen.text
        assert "a            Abort" not in app.screen.text


async def test_filter_hides_rows_and_bang_inverts() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(RolloutsTable)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"shop")
        assert table.shown_keys == ["shop/checkout", "shop/payments"]
        assert app.query_one(RolloutDetail).rollout.key == "shop/checkout"
        await pilot.press("escape")
        assert table.shown_keys == ALL_KEYS
        await pilot.press("slash", *"!shop", "enter")
        assert table.shown_keys == ["web/frontend", "web/search", "ml/recommendations"]
        assert table.has_focus  # Enter keeps the filter and goes back to the rows
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"^(web|ml)/s")
        assert table.shown_keys == ["web/search"]
        await pilot.press("escape")
        assert table.shown_keys == ALL_KEYS


async def test_filter_survives_new_snapshots() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(RolloutsTable)
        await pilot.press("slash", *"web", "enter")
        engine.publish(replace_rollout(STATE, "shop/checkout", step=4))
        await pilot.pause()
        assert table.shown_keys == ["web/frontend", "web/search"]


async def test_read_only_has_no_action_bindings_and_shows_the_lock() -> None:
    app, engine = make(read_only=True)
    async with app.run_test(size=WIDE) as pilot:
        screen = app.screen
        assert type(screen) is MainScreen
        bound_actions = {b.action for _, b in screen._bindings} | {b.action for _, b in app._bindings}
        bound_keys = set(screen.active_bindings)
        for binding in ACTION_BINDINGS:
            assert binding.action not in bound_actions
            assert binding.key not in bound_keys
        await pilot.press("a", "s", "space", "p", "b", "u", "m")
        assert engine.acted == [] and not isinstance(app.screen, ConfirmScreen)
        header = app.query_one(RoomHeader)
        assert header.has_class("-locked")
        assert header.query_one(".lock").display
        await pilot.press("question_mark")
        assert "Abort" not in app.screen.text and "not bound" in app.screen.text


async def test_writable_room_has_no_lock() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE):
        assert not app.query_one(RoomHeader).has_class("-locked")


async def test_keyed_diff_updates_only_changed_cells() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(RolloutsTable)
        keys_before = table.shown_keys
        calls: list[tuple[str, str]] = []
        original = table._update_row

        def spy(row_key, changed):  # type: ignore[no-untyped-def]
            calls.extend((str(row_key), str(column_key)) for column_key, _ in changed)
            return original(row_key, changed)

        def no_clear(*_a, **_kw):  # type: ignore[no-untyped-def]
            raise AssertionError("the table must never be cleared on an update")

        table._update_row = spy  # type: ignore[method-assign]
        table.clear = no_clear  # type: ignore[method-assign]
        table.add_row = no_clear  # type: ignore[method-assign]
        table.remove_row = no_clear  # type: ignore[method-assign]
        engine.publish(replace_rollout(STATE, "web/search", failed_checks=2, step=3))
        await pilot.pause()
        assert sorted(calls) == [("web/search", "failed"), ("web/search", "step")]
        assert table.shown_keys == keys_before and table.row_count == len(keys_before)
        assert table.get_cell("web/search", "step").plain == "3/10"
        # the same state again: nothing to do
        calls.clear()
        engine.publish(replace_rollout(STATE, "web/search", failed_checks=2, step=3))
        await pilot.pause()
        assert calls == []


async def test_keyed_diff_adds_and_removes_rows_by_key() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(RolloutsTable)
        await pilot.press("j", "j")  # shop/payments selected
        engine.publish(STATE.model_copy(update={"rollouts": STATE.rollouts[1:], "seq": 50}))
        await pilot.pause()
        assert table.shown_keys == ALL_KEYS[1:]
        assert table.selected_key == "shop/payments"  # selection follows the key, not the index
        engine.publish(STATE)
        await pilot.pause()
        assert table.shown_keys == ALL_KEYS  # back in state order
        assert table.selected_key == "shop/payments"


async def test_a_burst_of_snapshots_costs_one_render() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        before = screen.renders
        for step in range(20):
            engine.publish(replace_rollout(STATE, "shop/checkout", step=step % 5))
        engine.publish(replace_rollout(STATE, "shop/checkout", phase=Phase.PROMOTING))
        await pilot.pause()
        assert screen.renders - before == 1
        assert app.query_one(RolloutsTable).get_cell("shop/checkout", "phase").plain == "Promoting"


async def test_header_clock_shows_real_time_and_labels_the_simulated_time() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        header = app.query_one(RoomHeader)
        assert header.clock_text == "sim 09:41:07 │ 12:00:00 UTC"  # the simulator's own time, then the wall clock
        engine.publish(STATE.model_copy(update={"t": STATE.t + 3600 + 2}))
        await pilot.pause()
        assert header.clock_text == "sim 10:41:09 │ 12:00:00 UTC"
        engine.publish(STATE.model_copy(update={"t": WALL, "context": "prod-eu", "seq": 77}))
        await pilot.pause()
        assert header.clock_text == "12:00:00 UTC"  # a real cluster: one clock, the real one


async def test_non_destructive_action_acts_and_toasts() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert engine.acted == [("step", "shop/checkout")]
        assert any("step shop/checkout: done" in str(n.message) for n in app._notifications)


async def test_space_pauses_or_resumes() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("space")
        await app.workers.wait_for_complete()
        await pilot.press("j", "j", "j", "space")  # web/search is paused
        await app.workers.wait_for_complete()
        assert engine.acted == [("pause", "shop/checkout"), ("resume", "web/search")]


async def test_destructive_production_action_needs_the_typed_name() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert app.focused is screen.query_one("#confirm-name", Input)  # typing goes into the name
        confirm = screen.query_one("#confirm", Button)
        assert confirm.disabled
        assert "traffic 70/30 → 100/0 (all to stable)" in str(screen.query_one("#confirm-lines").render())
        await pilot.press(*"checkou")
        assert confirm.disabled
        await pilot.press("t")
        assert not confirm.disabled
        await pilot.click("#confirm")
        await app.workers.wait_for_complete()
        assert engine.acted == [("abort", "shop/checkout")]


async def test_cancelled_confirmation_does_not_act() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("j", "b")  # web/frontend: destructive, not production
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.confirm_name is None and not app.screen.query_one("#confirm", Button).disabled
        await pilot.press("enter")  # Enter on the focused Cancel button
        await app.workers.wait_for_complete()
        assert engine.acted == []
        assert isinstance(app.screen, ControlScreen)


async def test_engine_started_and_stopped() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await app.workers.wait_for_complete()
        assert engine.started and engine.subscribers
        await pilot.press("q")
    assert engine.stopped


async def test_palette_offers_the_room_actions() -> None:
    from app.screens.commands import RoomCommands

    app, _ = make()
    async with app.run_test(size=WIDE):
        provider = RoomCommands(app.screen)
        titles = [hit.text async for hit in provider.search("abort")]
        assert "Abort (a)" in titles
    ro, _ = make(read_only=True)
    async with ro.run_test(size=WIDE):
        provider = RoomCommands(ro.screen)
        assert [hit.text async for hit in provider.search("abort")] == []


def test_unknown_theme_is_rejected() -> None:
    with pytest.raises(ValueError, match="choose one of dark, light, wall"):
        ShiftroomApp(StaticEngine(), theme="neon")


async def test_narrow_terminal_uses_compact_columns() -> None:
    app, _ = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one(RolloutsTable)
        assert [c.key for c in table.column_specs] == [
            "target",
            "strategy",
            "phase",
            "control",
            "traffic",
            "step",
            "failed",
            "images",
        ]
        assert table.shown_keys == ALL_KEYS
        assert sum(c.width + 2 for c in table.column_specs) <= 79  # and a scrollbar


async def test_invalid_flag_error_is_shown_in_full_even_at_80_columns() -> None:
    app, _ = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "j", "j", "j")
        assert app.query_one(FlagsList).selected_key == "legacy-cart"
        text = str(app.query_one("#flag-detail").render())
        assert "invalid: not valid flag JSON: Expecting ',' delimiter: line 1 column 31" in text


async def test_the_room_keeps_living_under_a_modal() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        before = screen.renders
        engine.publish(replace_rollout(STATE, "shop/checkout", step=4).model_copy(update={"t": STATE.t + 60}))
        await pilot.pause()
        assert screen.renders == before + 1  # drawn under the help screen: nothing jumps when it closes
        assert app.query_one(RolloutsTable).get_cell("shop/checkout", "step").plain == "4/5"
        assert app.query_one(RoomHeader).clock_text.startswith("sim 09:42:07")
        await pilot.press("escape")
        await pilot.pause()
        assert app.query_one(RolloutsTable).get_cell("shop/checkout", "step").plain == "4/5"


async def test_lock_badge_only_when_the_mode_badge_does_not_say_read_only() -> None:
    from app.model import Mode

    engine = StaticEngine(state=STATE.model_copy(update={"mode": Mode.READ_ONLY}), read_only=True)
    app = ShiftroomApp(engine)
    async with app.run_test(size=WIDE):
        header = app.query_one(RoomHeader)
        assert not header.has_class("-locked")
        assert str(header.query_one(".mode").render()) == "READ-ONLY"


async def test_an_action_that_does_not_apply_says_why_and_does_nothing() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("j", "j", "j", "j", "s")  # ml/recommendations is idle (Initialized)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert engine.acted == [] and not isinstance(app.screen, ConfirmScreen)
        assert any("recommendations is Initialized: nothing to step" in str(n.message) for n in app._notifications)
        await pilot.press("k", "k", "k", "s")  # web/frontend is a blue-green pair: no step (and none in the footer)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert engine.acted == []
        assert any(
            "step does not apply to web/frontend: it is a blue-green pair" in str(n.message) for n in app._notifications
        )
