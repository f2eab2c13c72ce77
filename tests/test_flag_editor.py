"""The flag editor and the kill switch, driven with Pilot on the simulated room."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Button, Input, RadioButton, Static, Switch, TextArea

from app.clock import VirtualClock
from app.control.cohorts import experiment_user_ids, parse_user_ids
from app.factory import RoomOptions, make_app
from app.flags import cohort_diff, evaluate
from app.room import ShiftroomApp
from app.screens.confirm import ConfirmScreen
from app.screens.control import ControlScreen
from app.screens.flag_editor import FlagEditorScreen
from app.screens.kill_switch import KillSwitchScreen
from app.screens.main import MainScreen
from widgets.flags_list import FlagsList

WIDE = (160, 45)


def room(read_only: bool = False, seed: int = 11) -> tuple[ShiftroomApp, VirtualClock]:
    clock = VirtualClock()
    app = make_app(RoomOptions(scenario="healthy-canary", seed=seed, virtual=True, actor="oncall@room",
                               read_only=read_only), clock=clock)
    app.animation_level = "none"
    return app, clock


def text(widget: Static) -> str:
    content = widget.content
    return getattr(content, "plain", str(content))


PREVIEW_GROUPS = ("flag-cohort", "flag-histogram")


async def settle(pilot: Any) -> None:
    """Let the editor's preview workers finish and their results arrive.

    (Not `workers.wait_for_complete()`: the worker that opened a modal waits for it to close.)
    """
    await pilot.pause()
    while running := [w for w in pilot.app.workers if w.group in PREVIEW_GROUPS and not w.is_finished]:
        for worker in running:
            try:
                await worker.wait()
            except Exception:  # cancelled by a newer edit
                pass
        await pilot.pause()
    await pilot.pause()


async def open_editor(pilot: Any, clock: VirtualClock, flag: str = "new-product-design", key: str = "e") -> FlagEditorScreen:
    await clock.run_for(30, step=5)
    await pilot.press("2")
    table = pilot.app.query_one(FlagsList)
    if key != "n":
        assert table.select_key(flag)
    await pilot.press(key)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, FlagEditorScreen)
    return screen


async def stored(app: ShiftroomApp, name: str) -> dict[str, Any] | None:
    raw, _ = await app.engine.store.get_flag_raw(name)
    return raw


async def test_validation_reasons_appear_next_to_their_fields() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        editor = await open_editor(pilot, clock)
        assert text(editor.query_one("#reason-percentage", Static)) == ""
        editor.query_one("#field-percentage", Input).focus()
        await pilot.press("home", "ctrl+k", *"150")
        editor.query_one("#field-public", TextArea).text = "{bad"
        await settle(pilot)
        assert text(editor.query_one("#reason-percentage", Static)) == "percentage must be between 0 and 100, not 150."
        assert text(editor.query_one("#reason-public", Static)).startswith("public is not valid JSON (")
        assert "2 problems" in text(editor.query_one("#editor-status", Static))
        # saving is refused: no confirmation, nothing written
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor
        assert (await stored(app, "new-product-design"))["percentage"] == 25
        editor.query_one("#field-percentage", Input).value = "40"
        await settle(pilot)
        assert text(editor.query_one("#reason-percentage", Static)) == ""


async def test_diff_is_shown_before_saving_and_save_writes() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        editor = await open_editor(pilot, clock)
        editor.query_one("#field-percentage", Input).value = "60"
        editor.query_one("#field-userWhitelist", Input).value = "qa-team, user-7"
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        lines = confirm.preview.lines
        assert "percentage: 25 → 60" in lines and '+ userWhitelist: ["qa-team", "user-7"]' in lines
        assert any(line.startswith("in production: +") for line in lines)
        assert (await stored(app, "new-product-design"))["percentage"] == 25  # not yet
        await pilot.click("#confirm")
        await settle(pilot)
        assert isinstance(app.screen, ControlScreen)
        raw = await stored(app, "new-product-design")
        assert raw["percentage"] == 60 and raw["userWhitelist"] == ["qa-team", "user-7"]
        assert raw["public"] == {"layout": "grid", "theme": "v2"}
        edits = [e for e in app.engine.state.events if e.action == "flag-edit"]
        assert edits and edits[-1].actor == "oncall@room" and edits[-1].before["percentage"] == 25


async def test_cohort_preview_numbers_match_cohort_diff(tmp_path: Path) -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        editor = await open_editor(pilot, clock)
        before = dict(editor.base)
        editor.query_one("#field-percentage", Input).value = "40"
        await settle(pilot)
        after = dict(editor.form.config)
        ids, label = await experiment_user_ids(app.engine)
        assert ids[0] == "sim-user-0" and label == "simulated experiment users"
        gain, lose = cohort_diff(before, after, ids, "production", "new-product-design")
        assert gain > 0 and editor.last_cohort == (gain, lose, len(ids))
        assert f"+{gain:,} gain" in text(editor.query_one("#cohort-result", Static))
        # another environment: nobody in qa has it either way
        editor.query_one("#cohort-environment", Input).value = "qa"
        await settle(pilot)
        assert editor.last_cohort == (0, 0, len(ids))
        # pasted ids
        editor.query_one("#cohort-environment", Input).value = "staging"
        editor.query_one("#source-paste", RadioButton).value = True
        pasted = "\n".join(f"customer-{i}" for i in range(500))
        editor.query_one("#cohort-paste", TextArea).text = pasted
        await settle(pilot)
        expected = cohort_diff(before, after, parse_user_ids(pasted), "staging", "new-product-design")
        assert editor.last_cohort == (*expected, 500) and expected[0] > 0
        # a file of ids, and a file that is not there
        path = tmp_path / "ids.txt"
        path.write_text("\n".join(f"acct-{i}" for i in range(300)))
        editor.query_one("#source-file", RadioButton).value = True
        editor.query_one("#cohort-path", Input).value = str(path)
        await settle(pilot)
        expected = cohort_diff(before, after, [f"acct-{i}" for i in range(300)], "staging", "new-product-design")
        assert editor.last_cohort == (*expected, 300)
        editor.query_one("#cohort-path", Input).value = str(tmp_path / "missing.txt")
        await settle(pilot)
        assert editor.last_cohort is None
        assert text(editor.query_one("#cohort-result", Static)).startswith("Cannot read ")
        # the million-id histogram arrived from its worker
        assert "1,000,000 ids" in text(editor.query_one("#cohort-histogram", Static))


async def test_conflict_shows_the_other_change_and_keeps_the_edits() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        editor = await open_editor(pilot, clock)
        editor.query_one("#field-percentage", Input).value = "35"
        await settle(pilot)
        # someone else saves first
        raw, version = await app.engine.store.get_flag_raw("new-product-design")
        await app.engine.store.put_flag_raw("new-product-design", {**raw, "environments": ["staging"]}, version)
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
        assert app.screen is editor and editor.has_class("-conflict")
        banner = text(editor.query_one("#editor-conflict", Static))
        assert 'environments ["production","staging"] → ["staging"]' in banner
        assert editor.query_one("#field-percentage", Input).value == "35"  # the edits stay
        assert (await stored(app, "new-product-design"))["environments"] == ["staging"]
        # a field this editor did not touch now shows their value, and saving keeps it
        assert editor.query_one("#field-environments", Input).value == "staging"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert not any(line.startswith("environments") for line in app.screen.preview.lines)
        await pilot.click("#confirm")
        await settle(pilot)
        after = await stored(app, "new-product-design")
        assert after is not None and after["percentage"] == 35 and after["environments"] == ["staging"]


async def test_new_flag() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        editor = await open_editor(pilot, clock, key="n")
        await pilot.press(*"dark:mode")
        await settle(pilot)
        assert "escape the feature: key prefix" in text(editor.query_one("#reason-name", Static))
        editor.query_one("#field-name", Input).value = "dark-mode"
        editor.query_one("#field-enabled", Switch).value = True
        editor.query_one("#field-environments", Input).value = "staging"
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen.preview.title == "Create flag dark-mode?"
        await pilot.click("#confirm")
        await settle(pilot)
        assert await stored(app, "dark-mode") == {"enabled": True, "environments": ["staging"]}


async def test_kill_switch_needs_the_name_and_a_reason_then_kills() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        await clock.run_for(30, step=5)
        await pilot.press("2")
        assert app.query_one(FlagsList).select_key("new-product-design")
        await pilot.press("K")
        await settle(pilot)
        kill = app.screen
        assert isinstance(kill, KillSwitchScreen)
        assert "percentage: 25 → 0" in kill.changes and "enabled: true → false" in kill.changes
        assert kill.impact[0].startswith("production: ") and kill.impact[0].endswith("→ 0")
        button = kill.query_one("#kill-confirm", Button)
        kill.query_one("#kill-name", Input).value = "new-product-desig"
        kill.query_one("#kill-reason", Input).value = "500s on checkout"
        await pilot.pause()
        assert button.disabled
        kill.query_one("#kill-name", Input).value = "new-product-design"
        await pilot.pause()
        assert not button.disabled
        await pilot.click("#kill-confirm")
        await settle(pilot)
        raw = await stored(app, "new-product-design")
        assert raw["killed"]["reason"] == "500s on checkout" and raw["killed"]["by"] == "oncall@room"
        assert not any(evaluate(raw, f"user-{i}", env) for i in range(2000) for env in ("production", "staging"))
        assert any(e.action == "flag-kill" for e in app.engine.state.events)


async def test_read_only_room_binds_no_write_keys() -> None:
    app, clock = room(read_only=True)
    async with app.run_test(size=WIDE) as pilot:
        await clock.run_for(10, step=5)
        await pilot.press("2", "e", "n", "K")
        await settle(pilot)
        assert type(app.screen) is MainScreen
        ids = {b.id for _, b in app.screen._bindings}
        assert not ids & {"flag-edit", "flag-new", "flag-kill", "experiment-status"}


async def test_flag_keys_only_act_on_the_flags_tab() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        await clock.run_for(10, step=5)
        await pilot.press("e", "K")  # rollouts tab: not bound here
        await settle(pilot)
        assert isinstance(app.screen, ControlScreen)


# ---------------------------------------------------------------- snapshots


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
