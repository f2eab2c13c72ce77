"""What trips an on-call engineer at 3 a.m., each as a test that failed before the fix."""

from __future__ import annotations

from textual import events
from textual.keys import _character_to_key
from textual.widgets import Button, Input, TabbedContent

from app.control.commands import Preview, RolloutCommand
from app.headless import timeline_text
from app.model import AuditEvent, Flag, Level, MetricSeries, Phase, Rollout, Strategy, Weights
from app.room import ShiftroomApp
from app.screens.confirm import ConfirmScreen
from app.screens.control import ACTION_BINDINGS, ControlScreen
from app.screens.help import HelpScreen
from app.screens.main import MainScreen
from backends.sim.defaults import DEFAULT_TARGETS
from tests.ui_states import EVENTS, STATE, T0, WALL, StaticEngine, replace_rollout
from widgets.detail import RolloutDetail
from widgets.event_log import EventLog, event_text
from widgets.flags_list import FlagsList, who_text
from widgets.header import RoomHeader
from widgets.palette import Palette
from widgets.rollouts_table import WIDE_COLUMNS, RolloutsTable, rollout_cells
from widgets.spark import BARS, scale_of, spark_plain
from widgets.uplift_plot import UpliftPoint, plot_lines
from widgets.why import headline_content

WIDE = (160, 45)
NARROW = (80, 24)


def make(state=STATE, read_only: bool = False) -> tuple[ShiftroomApp, StaticEngine]:  # type: ignore[no-untyped-def]
    engine = StaticEngine(state=state, read_only=read_only)
    app = ShiftroomApp(engine, wall_clock=lambda: WALL)
    app.animation_level = "none"
    return app, engine


def burst(app: ShiftroomApp, text: str) -> None:
    """Every key in one go, as a paste or a laggy SSH link delivers them: no pause between keys."""
    assert app._driver is not None
    for ch in text:
        key = events.Key(ch if ch.isalnum() else _character_to_key(ch), ch)
        key.set_sender(app)
        app._driver.send_message(key)


def toasts(app: ShiftroomApp) -> list[str]:
    return [f"{n.title or ''} | {n.message}" for n in app._notifications]


# ---------------------------------------------------------------- 1. the filter under a burst of keys


async def test_a_burst_of_keys_in_the_filter_settles() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        calls: list[str] = []
        original = screen.set_filter

        def counting(text: str, **kw: bool) -> None:
            calls.append(text)
            original(text, **kw)

        screen.set_filter = counting  # type: ignore[method-assign]
        await pilot.press("slash")
        burst(app, "canary")
        for _ in range(30):  # a feedback loop would keep growing the count through all of these
            await pilot.pause()
        settled = len(calls)
        assert settled <= 2 * len("canary")
        for _ in range(10):
            await pilot.pause()
        assert len(calls) == settled  # idle: nothing feeds the filter any more
        assert app.query_one("#filter", Input).value == "canary"
        assert screen.filters["rollouts"] == "canary"
        await pilot.press("escape")
        for _ in range(5):
            await pilot.pause()
        assert app.query_one(RolloutsTable).border_title == "rollouts"  # not "/c" any more
        assert app.query_one("#filter", Input).value == ""


async def test_why_pane_redrawn_while_its_rows_are_still_being_composed_does_not_crash() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        why = app.query_one(RolloutDetail).why
        frontend, checkout, payments = (STATE.rollout(k) for k in ("web/frontend", "shop/checkout", "shop/payments"))
        why.show(frontend)  # no checks: no rows
        await pilot.pause()
        why.show(checkout, STATE.series_for("shop/checkout"))  # mounts three rows...
        why.show(payments, STATE.series_for("shop/payments"))  # ...and redraws them before they are composed
        why.show(frontend)  # ...and removes them again
        why.show(payments, STATE.series_for("shop/payments"))
        await pilot.pause()
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert any("BREACH" in label for label in why.labels)


# ---------------------------------------------------------------- 2. the room lives under a modal


async def test_a_confirmation_shows_the_live_preview_and_returns_what_it_showed() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")  # abort shop/checkout (production)
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert "traffic 70/30 → 100/0" in str(dialog.query_one("#confirm-lines").render())
        moved = replace_rollout(STATE, "shop/checkout", actual=Weights.of_canary(40))
        engine.publish(moved.model_copy(update={"t": T0 + 30}))
        for _ in range(3):
            await pilot.pause()
        assert dialog.refreshes >= 1
        lines = str(dialog.query_one("#confirm-lines").render())
        assert "traffic 60/40 → 100/0" in lines and "70/30" not in lines
        assert "Updated" in str(dialog.query_one("#confirm-live").render())
        assert app.query_one(RoomHeader).clock_text.startswith("sim 09:41:37")  # the header moved on underneath
        await pilot.press(*"checkout", "enter")
        await app.workers.wait_for_complete()
        assert engine.acted == [("abort", "shop/checkout")]


async def test_a_confirmation_that_no_longer_applies_cannot_be_confirmed() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("j", "b")  # web/frontend: switch (destructive, not production)
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)

        async def gone(command: RolloutCommand) -> Preview:
            return Preview(command, "switch", ("frontend is Progressing now",), possible=False)

        engine.preview = gone  # type: ignore[method-assign]
        engine.publish(STATE.model_copy(update={"seq": 100}))
        for _ in range(3):
            await pilot.pause()
        assert dialog.query_one("#confirm", Button).disabled
        assert "no longer applies" in str(dialog.query_one("#confirm-live").render())
        dialog._confirm()
        await pilot.pause()
        assert app.screen is dialog and engine.acted == []


# ---------------------------------------------------------------- 3 and 9. the event log


def _events(n: int, start: float = T0) -> tuple[AuditEvent, ...]:
    return tuple(
        AuditEvent(t=start + i, actor="engine", target="shop/checkout", action="check", reason=f"tick {i}")
        for i in range(n)
    )


async def test_event_log_follows_new_events_until_the_user_scrolls_up() -> None:
    many = _events(40)
    app, engine = make(STATE.model_copy(update={"events": many}))
    async with app.run_test(size=WIDE) as pilot:
        log = app.query_one(EventLog)
        await pilot.pause()
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y
        for _ in range(4):  # tabbing through the panes does not stop it following
            await pilot.press("tab")
        engine.publish(STATE.model_copy(update={"events": many + _events(3, T0 + 100), "seq": 60}))
        for _ in range(3):
            await pilot.pause()
        assert log.scroll_y == log.max_scroll_y  # followed
        log.focus()
        await pilot.press("home")
        await pilot.pause()
        top = log.scroll_y
        assert top < log.max_scroll_y and not log.following
        engine.publish(STATE.model_copy(update={"events": many + _events(5, T0 + 100), "seq": 61}))
        for _ in range(3):
            await pilot.pause()
        assert log.scroll_y == top  # the user is reading: stay
        assert log.border_title == "events  2 new ↓ (End)"
        await pilot.press("end")
        for _ in range(3):
            await pilot.pause()
        assert log.following and log.border_title == "events"
        engine.publish(STATE.model_copy(update={"events": many + _events(6, T0 + 100), "seq": 62}))
        for _ in range(3):
            await pilot.pause()
        assert log.scroll_y == log.max_scroll_y


def test_event_lines_say_before_and_after() -> None:
    p = Palette()
    edit = AuditEvent(
        t=T0,
        actor="alice",
        target="flag new-checkout-flow",
        action="flag-edit",
        reason="ramp up",
        before={"enabled": False, "percentage": 10},
        after={"enabled": False, "percentage": 35},
    )
    kill = AuditEvent(
        t=T0,
        actor="bob",
        target="flag dark-mode",
        action="flag-kill",
        reason="bad css",
        level=Level.WARN,
        before={"enabled": True},
        after={"enabled": False},
    )
    status = AuditEvent(
        t=T0,
        actor="carol",
        target="experiment checkout-button",
        action="experiment-status",
        before={"status": "active"},
        after={"status": "paused"},
    )
    assert "percentage 10 → 35" in event_text(edit, p).plain and "enabled" not in event_text(edit, p).plain
    assert "enabled true → false" in event_text(kill, p).plain
    assert 'status "active" → "paused"' in event_text(status, p).plain


async def test_a_wrapped_event_line_keeps_its_last_character() -> None:
    long = AuditEvent(
        t=T0,
        actor="engine",
        target="shop/checkout",
        action="rollback",
        level=Level.ERROR,
        reason="failed checks 5/5: request-success-rate = 91.73 outside ≥ 99; error-rate = 8.272 "
        "outside ≤ 1; the canary is scaled to zero and the primary keeps serving ENDMARK",
    )
    app, _ = make(STATE.model_copy(update={"events": EVENTS + (long,)}))
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        log = app.query_one(EventLog)
        width = log.scrollable_content_region.width
        assert all(strip.cell_length <= width for strip in log.lines)
        assert "ENDMARK" in "".join(strip.text for strip in log.lines).replace(" ", "")


# ---------------------------------------------------------------- 4. keys act on what the tab shows


async def test_rollout_keys_do_nothing_on_the_flags_tab_and_leave_its_footer() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        assert app.query_one(TabbedContent).active == "flags"
        await pilot.press("m", "space", "s", "a")
        await app.workers.wait_for_complete()
        assert engine.acted == [] and not isinstance(app.screen, ConfirmScreen)
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled and b.binding.show}
        for binding in ACTION_BINDINGS:
            assert binding.action not in shown
        assert "toggle_sequential" not in shown  # an Experiments key
        await pilot.press("1")
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled and b.binding.show}
        assert "auto_manual" in shown and "edit_flag" not in shown


async def test_every_rollout_toast_names_its_target() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("m")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert engine.acted == [("manual", "shop/checkout")]
        assert any("shop/checkout" in t for t in toasts(app))


async def test_space_on_a_failed_canary_says_why_it_does_nothing() -> None:
    from app.clock import VirtualClock
    from app.factory import RoomOptions, make_app

    clock = VirtualClock()
    app = make_app(RoomOptions(scenario="bad-canary", seed=23, virtual=True, actor="oncall@room"), clock=clock)
    app.animation_level = "none"
    key = "microservices/microservices-canary"
    async with app.run_test(size=WIDE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await clock.run_for(275)  # rolled back by then
        await pilot.pause()
        for _ in range(3):
            if app.query_one(RolloutsTable).selected_key == key:
                break
            await pilot.press("j")
        assert app.engine.state.rollout(key).phase is Phase.FAILED
        await pilot.press("space")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.engine.state.rollout(key).paused  # not paused silently
        assert any(key in t or "microservices-canary" in t for t in toasts(app))


# ---------------------------------------------------------------- 5. flag state in the seed's order


def test_flag_state_reads_in_the_seeds_evaluation_order() -> None:
    assert who_text(Flag(name="a", enabled=False, percentage=35)) == "35 % of users"
    assert who_text(Flag(name="b", enabled=False, user_whitelist=("alice",))) == "whitelist only"
    assert who_text(Flag(name="c", enabled=False)) == "off"
    assert who_text(Flag(name="d", enabled=True, environments=("production", "staging"))) == "on in production, staging"
    assert who_text(Flag(name="e", enabled=True, environments=())) == "off (no environment allowed)"
    assert (
        who_text(Flag(name="f", enabled=False, percentage=25, environments=("staging",))) == "25 % of users in staging"
    )


async def test_flags_table_shows_who_gets_each_flag() -> None:
    flags = (Flag(name="checkout-v2", enabled=False, percentage=35),) + STATE.flags
    app, _ = make(STATE.model_copy(update={"flags": flags}))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        table = app.query_one(FlagsList)
        assert table.get_cell("checkout-v2", "state").plain == "35 % of users"
        assert table.get_cell("beta-search", "state").plain == "whitelist only"


# ---------------------------------------------------------------- 6. typed-name confirmation


async def test_typed_name_confirmation_takes_typing_and_says_what_it_expects() -> None:
    app, engine = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        name = dialog.query_one("#confirm-name", Input)
        assert app.focused is name and name.placeholder == ""  # nothing that looks typed in
        await pilot.press("enter")
        await pilot.pause()
        hint = str(dialog.query_one("#confirm-hint").render())
        assert app.screen is dialog and "Nothing typed yet: type checkout exactly" in hint
        await pilot.press(*"checkou", "enter")
        await pilot.pause()
        assert app.screen is dialog and "'checkou' is not the name" in str(dialog.query_one("#confirm-hint").render())
        assert engine.acted == []
        await pilot.press("t", "enter")
        await app.workers.wait_for_complete()
        assert engine.acted == [("abort", "shop/checkout")]


def test_the_default_world_is_production_like_the_seed() -> None:
    assert DEFAULT_TARGETS and all(t.production for t in DEFAULT_TARGETS)


# ---------------------------------------------------------------- 7. 80×24 on purpose


async def test_80_by_24_keeps_what_matters() -> None:
    health = STATE.health + (STATE.health[0].model_copy(update={"name": "audit", "kind": "redis"}),)
    app, _ = make(STATE.model_copy(update={"health": health, "scenario": "release-day"}))
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert app.query_one(RoomHeader).region.width == 80
        top = _row_text(app, 0)
        assert "release-day" in top and "●audit" in top and "UTC" in top
        assert "●metrics stale" in top
        table = app.query_one(RolloutsTable)
        assert table.get_cell("shop/checkout", "strategy").plain == "can"
        assert table.get_cell("shop/checkout", "images").plain == "1.4.2→1.5.0"
        bottom = _row_text(app, 23)
        assert "Quit" in bottom
        log = app.query_one(EventLog)
        assert log.content_region.height >= 3
        await pilot.press("3")
        await pilot.pause()
        assert "green-button" in _screen_text(app)


def _row_text(app: ShiftroomApp, y: int) -> str:
    return app.screen._compositor.render_strips()[y].text


def _screen_text(app: ShiftroomApp) -> str:
    return "\n".join(_row_text(app, y) for y in range(app.size.height))


# ---------------------------------------------------------------- 8. the why pane keeps the decision


def test_why_headline_keeps_the_decision_and_shows_later_mode_changes_under_it() -> None:
    rollout = Rollout(
        name="payments",
        phase=Phase.FAILED,
        decision="rolled back: failed checks 5/5 error-rate 6.2%",
        message="manual mode set by alice",
    )
    text = headline_content(rollout).plain
    assert text.splitlines() == ["rolled back: failed checks 5/5 error-rate 6.2%", "then manual mode set by alice"]
    assert headline_content(rollout.model_copy(update={"message": rollout.decision})).plain == rollout.decision


# ---------------------------------------------------------------- 10. sparklines


def test_sparkline_scale_holds_the_threshold_and_says_its_range() -> None:
    series = MetricSeries(
        target="a/b", name="request-success-rate", unit="%", min=99.0, values=(99.8, 100.0, 99.9, 99.8, 100.0, 99.9)
    )
    scale = scale_of(series, 40)
    assert scale is not None and scale.lo == 99.0 and scale.hi == 100.0
    text = spark_plain(series, 40)
    assert text.startswith(BARS[0] + "│")  # the threshold's level: the floor of this scale
    assert text.endswith(" 99–100%")
    bars = text[2:8]
    assert all(b in BARS[5:] for b in bars)  # 99.8–100 sits high above the threshold: no outage-like swings


# ---------------------------------------------------------------- 12 (marker) and 14, the smaller ones


def test_production_marker_is_one_ascii_cell() -> None:
    cells = rollout_cells(STATE.rollout("shop/checkout"), Palette(), WIDE_COLUMNS)  # type: ignore[arg-type]
    assert cells[0].plain.startswith("! ") and "◆" not in cells[0].plain


def test_blue_green_row_shows_no_canary_image_when_nothing_is_released() -> None:
    done = Rollout(
        name="frontend",
        strategy=Strategy.BLUE_GREEN,
        phase=Phase.SUCCEEDED,
        active_color="green",
        stable_image="acme/frontend:2.1.0",
        canary_image="acme/frontend:2.0.0",
    )
    cells = dict(zip([c.key for c in WIDE_COLUMNS], rollout_cells(done, Palette(), WIDE_COLUMNS), strict=True))
    assert cells["stable"].plain == "2.1.0" and cells["canary"].plain == "–"
    releasing = done.model_copy(update={"phase": Phase.PROGRESSING})
    cells = dict(zip([c.key for c in WIDE_COLUMNS], rollout_cells(releasing, Palette(), WIDE_COLUMNS), strict=True))
    assert cells["canary"].plain == "2.0.0"


def test_uplift_zero_line_is_labelled_zero() -> None:
    points = [UpliftPoint(t=T0 + i, estimate=0.05 + i * 0.001, lo=0.001, hi=0.1) for i in range(10)]
    lines = [line.plain for line in plot_lines(points, 60)]
    zero = next(line for line in lines if "┄" in line)
    assert zero.lstrip().startswith("0% ┤")
    assert not any(line.lstrip().startswith("+0.") and "┄" in line for line in lines)


async def test_help_and_dialog_agree_on_what_promote_does() -> None:
    app, _ = make()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "all traffic to the canary" not in app.screen.text
        assert "its image becomes the primary's, then 100/0 to the primary" in app.screen.text
        await pilot.press("escape")
        assert isinstance(app.screen, ControlScreen)


def test_headless_text_columns_line_up() -> None:
    result = {
        "timeline": [
            {
                "t": 15.0,
                "target": "microservices/microservices-canary",
                "action": "start",
                "weights": "100/0",
                "reason": "new revision",
            },
            {
                "t": 60.0,
                "target": "microservices/frontend",
                "action": "check-failed",
                "weights": None,
                "reason": "health check",
            },
        ],
        "targets": {"microservices/frontend": {"phase": "Succeeded"}},
    }
    first, second, last = timeline_text(result)
    assert first.index("start") == second.index("check-failed")
    assert first.index("new revision") == second.index("health check")
    assert last == "microservices/frontend: Succeeded"


def test_the_table_says_who_drives_each_rollout() -> None:
    ours = Rollout(name="api", auto=False)
    flagger = Rollout(name="web", driven_by="flagger")
    argo = Rollout(name="pay", driven_by="argo", paused=True)
    key = [c.key for c in WIDE_COLUMNS].index("control")
    assert [rollout_cells(r, Palette(), WIDE_COLUMNS)[key].plain for r in (ours, flagger, argo)] == [
        "manual",
        "flagger",
        "argo ‖",
    ]
