"""The flag editor and the kill switch, driven with Pilot on the simulated room."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Footer, Input, RadioButton, Static, Switch, TextArea
from textual.widgets._footer import FooterKey

import backends.sim.store as sim_store
from app.clock import VirtualClock
from app.control.commands import SaveFlag
from app.control.flag_edits import parse_user_ids
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
    app = make_app(
        RoomOptions(scenario="healthy-canary", seed=seed, virtual=True, actor="oncall@room", read_only=read_only),
        clock=clock,
    )
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


async def open_editor(
    pilot: Any, clock: VirtualClock, flag: str = "new-product-design", key: str = "e"
) -> FlagEditorScreen:
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
        assert any(line.startswith("production: ") and " gain it, 0 lose it" in line for line in lines)
        engine = await app.engine.preview(SaveFlag("new-product-design", dict(editor.form.config), editor.version))
        assert confirm.preview == engine and engine.version, "the engine's own preview, from one stored version"
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
        ids, label = await app.engine.desk.sample_users()
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


async def test_a_change_while_the_confirmation_is_open_writes_nothing_of_ours() -> None:
    """The dialog shows the engine's preview; someone saves while it is open; confirming then writes nothing,
    shows their change and opens the confirmation again on the fresh preview."""
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        editor = await open_editor(pilot, clock)
        editor.query_one("#field-percentage", Input).value = "35"
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "percentage: 25 → 35" in app.screen.preview.lines
        raw, version = await app.engine.store.get_flag_raw("new-product-design")
        await app.engine.store.put_flag_raw("new-product-design", {**raw, "percentage": 50}, version)
        await pilot.click("#confirm")
        await settle(pilot)
        assert editor.has_class("-conflict")
        assert (await stored(app, "new-product-design"))["percentage"] == 50, "their value, not ours"
        assert not [e for e in app.engine.state.events if e.action == "flag-edit"]
        fresh = app.screen
        assert isinstance(fresh, ConfirmScreen) and "percentage: 50 → 35" in fresh.preview.lines
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is editor and (await stored(app, "new-product-design"))["percentage"] == 50


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
        # the engine's preview says the save no longer applies: the editor rebases and the
        # confirmation opens on the fresh preview of the save over their version
        assert editor.has_class("-conflict")
        banner = text(editor.query_one("#editor-conflict", Static))
        assert 'environments ["production","staging"] → ["staging"]' in banner
        assert editor.query_one("#field-percentage", Input).value == "35"  # the edits stay
        # a field this editor did not touch now shows their value, and saving keeps it
        assert editor.query_one("#field-environments", Input).value == "staging"
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen) and confirm.preview.possible
        assert "percentage: 25 → 35" in confirm.preview.lines
        assert not any(line.startswith("environments") for line in confirm.preview.lines)
        assert (await stored(app, "new-product-design"))["percentage"] == 25  # nothing written yet
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


# ---------------------------------------------------------------- stored values as they are (issue: bad data)

GARBLED = {"enabled": "yes", "percentage": "20", "environments": "production", "userWhitelist": [1, 2], "owner": "web"}


def garbled_room(monkeypatch: pytest.MonkeyPatch) -> tuple[ShiftroomApp, VirtualClock]:
    monkeypatch.setattr(sim_store, "SEED_FLAGS", {**sim_store.SEED_FLAGS, "garbled": dict(GARBLED)})
    return room()


async def test_wrong_typed_fields_show_their_stored_value_and_are_never_rewritten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, clock = garbled_room(monkeypatch)
    async with app.run_test(size=WIDE) as pilot:
        editor = await open_editor(pilot, clock, "garbled")
        form = editor.form
        assert editor.query_one("#field-environments", Input).value == '"production"'  # as stored, not reshaped
        assert editor.query_one("#field-userWhitelist", Input).value == "[1, 2]"
        assert editor.query_one("#field-percentage", Input).value == '"20"'
        reasons = {
            key: text(editor.query_one(f"#reason-{key}", Static))
            for key in ("enabled", "environments", "userWhitelist", "percentage")
        }
        assert 'not a string "yes"' in reasons["enabled"]
        assert 'not a string "production"' in reasons["environments"]
        assert "it holds a number 1" in reasons["userWhitelist"]
        assert 'not a string "20"' in reasons["percentage"]
        assert all(r.startswith("stored value invalid") for r in reasons.values())
        assert set(form.stored_errors) == {"enabled", "environments", "userWhitelist", "percentage"}
        assert form.config == GARBLED  # untouched: exactly what is stored
        # touching one field changes only that field
        editor.query_one("#field-enabled", Switch).value = True
        await settle(pilot)
        assert form.config == {**GARBLED, "enabled": True}
        assert "enabled" not in form.stored_errors and not form.errors
        # typing JSON into a field is read as JSON, never split: a string stays a string (and is refused)
        editor.query_one("#field-environments", Input).value = '"staging"'
        await settle(pilot)
        assert form.config["environments"] == "staging" and "environments" in form.errors
        editor.query_one("#field-environments", Input).value = '["production","qa"]'
        await settle(pilot)
        assert form.config["environments"] == ["production", "qa"] and "environments" not in form.errors
        editor.query_one("#field-environments", Input).value = "production, staging"
        await settle(pilot)
        assert form.config["environments"] == ["production", "staging"]
        assert form.config["userWhitelist"] == [1, 2] and form.config["percentage"] == "20"
        await pilot.press("ctrl+s")
        await settle(pilot)
        if isinstance(app.screen, ConfirmScreen):
            await pilot.click("#confirm")
            await settle(pilot)
        after = await stored(app, "garbled")
        assert after is not None
        # whatever the store decided, the fields nobody touched are byte-for-byte what they were
        assert after["userWhitelist"] == [1, 2] and after["percentage"] == "20" and after["owner"] == "web"


async def test_esc_discards_only_after_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        editor = await open_editor(pilot, clock)
        await pilot.press("escape")  # nothing changed: closes at once
        await settle(pilot)
        assert isinstance(app.screen, ControlScreen)
        editor = await open_editor(pilot, clock)
        editor.query_one("#field-percentage", Input).value = "60"
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        ask = app.screen
        assert isinstance(ask, ConfirmScreen) and "Discard" in ask.preview.title
        assert "percentage: 25 → 60" in ask.preview.lines
        await pilot.press("escape")  # keep editing
        await settle(pilot)
        assert app.screen is editor and editor.query_one("#field-percentage", Input).value == "60"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
        assert isinstance(app.screen, ControlScreen)
        assert (await stored(app, "new-product-design"))["percentage"] == 25


async def test_bucketing_choice_shows_a_glyph_and_ctrl_s_is_in_the_footer() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        editor = await open_editor(pilot, clock)
        seed, salted = (editor.query_one(f"#bucketing-{b}", RadioButton) for b in ("seed", "flag-salted"))
        assert seed.render().plain.startswith("▐●▌") and salted.render().plain.startswith("▐○▌")
        salted.value = True
        await settle(pilot)
        assert seed.render().plain.startswith("▐○▌") and salted.render().plain.startswith("▐●▌")
        keys = {key.key for key in editor.query(FooterKey)}
        assert "ctrl+s" in keys and "escape" in keys
        assert "ctrl+s review & save" in text(editor.query_one("#editor-keys", Static))


def _on_screen(app: ShiftroomApp, widget: Any) -> bool:
    region = widget.region
    width, height = app.size
    footer = app.screen.query(Footer)
    bottom = footer.first().region.y if footer else height
    return region.width > 0 and region.height > 0 and region.right <= width and region.bottom <= bottom


async def test_editor_at_80x24_buttons_reachable_and_histogram_unwrapped() -> None:
    app, clock = room()
    async with app.run_test(size=(80, 24)) as pilot:
        editor = await open_editor(pilot, clock)
        await settle(pilot)
        for button_id in ("#editor-save-button", "#editor-cancel-button"):
            assert _on_screen(app, editor.query_one(button_id, Button)), button_id
        histogram = editor.query_one("#cohort-histogram", Static)
        histogram.scroll_visible()
        await pilot.pause()
        lines = text(histogram).splitlines()
        assert len(lines) == 6 and max(len(line) for line in lines) <= histogram.content_size.width
        bars = lines[0]
        assert len(bars) == 50  # two buckets a column at this width


async def test_kill_dialog_takes_typing_and_says_what_is_expected() -> None:
    app, clock = room()
    async with app.run_test(size=(80, 24)) as pilot:
        await clock.run_for(30, step=5)
        await pilot.press("2")
        assert app.query_one(FlagsList).select_key("new-product-design")
        await pilot.press("K")
        await settle(pilot)
        kill = app.screen
        assert isinstance(kill, KillSwitchScreen)
        name = kill.query_one("#kill-name", Input)
        assert app.focused is name and "new-product-design" not in str(name.placeholder)
        for button_id in ("#kill-confirm", "#kill-cancel-button"):
            assert _on_screen(app, kill.query_one(button_id, Button)), button_id
        await pilot.press("enter")  # empty name: nothing happens but a sentence
        assert app.screen is kill and "Type the flag's name, new-product-design" in text(kill.query_one("#kill-hint"))
        await pilot.press(*"new-product")
        assert name.value == "new-product"
        await pilot.press("enter")
        assert app.screen is kill and "is not the flag's name" in text(kill.query_one("#kill-hint", Static))
        await pilot.press(*"-design", "enter")
        assert app.focused is kill.query_one("#kill-reason", Input)  # the name is right: on to the reason
        await pilot.press("enter")
        assert app.screen is kill and "Give a reason" in text(kill.query_one("#kill-hint", Static))
        await pilot.press(*"errors", "enter")
        await settle(pilot)
        assert app.screen is not kill
        raw = await stored(app, "new-product-design")
        assert raw is not None and raw["killed"]["reason"] == "errors"
