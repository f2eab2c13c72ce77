"""The flag editor on a real redis-server saves through the engine's path, like every other write.

Review & save asks `engine.preview(SaveFlag(...))`, shows that Preview in the standard
`ConfirmScreen` and executes with it; a flag changed in Redis between the preview and the
confirmation is refused by the engine (nothing written) and the fresh preview is shown.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from textual.widgets import Button, Input, Static

from app.clock import VirtualClock
from app.control.commands import SaveFlag
from app.factory import RoomOptions, make_app
from app.room import ShiftroomApp
from app.screens.confirm import ConfirmScreen
from app.screens.control import ControlScreen
from app.screens.flag_editor import FlagEditorScreen
from tests.servers.redis import RedisServer
from widgets.flags_list import FlagsList

pytestmark = pytest.mark.integration

NAME = "checkout"
ORIGINAL = b'{"enabled":true, "percentage":25,"owner":"web","note":"\\ud800"}'


def text(widget: Static) -> str:
    content = widget.content
    return getattr(content, "plain", str(content))


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, (
            f"condition not reached in time; screens {pilot.app.screen_stack}, "
            f"said {[n.message for n in pilot.app._notifications]}"
        )
        await pilot.pause(0.02)
    await pilot.pause()  # and what it brought is laid out


def edits(raw: redis.Redis) -> list[dict[bytes, bytes]]:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = raw.xrange("shiftroom:audit")  # type: ignore[assignment]
    return [fields for _, fields in entries if fields[b"action"] == b"flag-edit"]


def room(url: str) -> ShiftroomApp:
    app = make_app(
        RoomOptions(scenario="healthy-canary", virtual=True, redis_url=url, actor="oncall@room"), clock=VirtualClock()
    )
    app.animation_level = "none"
    return app


async def open_editor(pilot: Any, app: ShiftroomApp, percentage: str) -> FlagEditorScreen:
    await until(pilot, lambda: any(f.name == NAME for f in app.engine.state.flags))
    await pilot.press("2")
    assert app.query_one(FlagsList).select_key(NAME)
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, FlagEditorScreen))
    editor = app.screen
    assert isinstance(editor, FlagEditorScreen)
    editor.query_one("#field-percentage", Input).value = percentage
    await pilot.pause()
    return editor


async def review(pilot: Any, app: ShiftroomApp) -> ConfirmScreen:
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    confirm = app.screen
    assert isinstance(confirm, ConfirmScreen)
    return confirm


async def test_save_shows_the_engines_preview_in_the_standard_confirmation_then_writes(
    redis_server: RedisServer,
) -> None:
    raw = redis.Redis.from_url(redis_server.url)
    raw.set(f"feature:{NAME}", ORIGINAL)
    app = room(redis_server.url)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            editor = await open_editor(pilot, app, "40")
            confirm = await review(pilot, app)
            command = SaveFlag(NAME, dict(editor.form.config), editor.version)
            engine_preview = await app.engine.preview(command)
            assert confirm.preview == engine_preview, "the engine's preview, not one the editor built"
            shown = text(confirm.query_one("#confirm-lines", Static))
            assert "percentage: 25 → 40" in shown and engine_preview.lines[-1].split(" (")[0] in shown
            assert text(confirm.query_one("#confirm-title", Static)) == f"Save flag {NAME}?"
            assert raw.get(f"feature:{NAME}") == ORIGINAL, "nothing written before the confirmation"
            await pilot.click("#confirm")
            await until(pilot, lambda: isinstance(app.screen, ControlScreen))
            assert raw.get(f"feature:{NAME}") == ORIGINAL.replace(b'"percentage":25', b'"percentage":40')
            (entry,) = edits(raw)
            assert entry[b"actor"] == b"oncall@room" and json.loads(entry[b"after"]) == {"percentage": 40}
    finally:
        raw.close()


async def test_a_flag_changed_in_redis_after_the_preview_is_refused_with_the_fresh_preview(
    redis_server: RedisServer,
) -> None:
    raw = redis.Redis.from_url(redis_server.url)
    raw.set(f"feature:{NAME}", ORIGINAL)
    other = b'{"enabled":true, "percentage":90,"owner":"payments","note":"\\ud800"}'
    app = room(redis_server.url)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            editor = await open_editor(pilot, app, "40")
            confirm = await review(pilot, app)
            assert "percentage: 25 → 40" in confirm.preview.lines
            # another writer changes the flag, and the user confirms the preview now on screen before
            # any snapshot could refresh it (same handler as the button, no event-loop turn in between)
            raw.set(f"feature:{NAME}", other)
            confirm._confirm()
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen is not confirm)
            fresh = app.screen
            assert isinstance(fresh, ConfirmScreen)
            assert raw.get(f"feature:{NAME}") == other, "refused: nothing written"
            assert edits(raw) == [], "and nothing audited"
            # the fresh preview: the same edit over their version, their other change kept
            assert fresh.preview.possible and "percentage: 90 → 40" in fresh.preview.lines
            assert not any(line.startswith("owner") for line in fresh.preview.lines)
            assert editor.has_class("-conflict")
            assert "percentage 25 → 90" in text(editor.query_one("#editor-conflict", Static))
            await pilot.click("#confirm")
            await until(pilot, lambda: isinstance(app.screen, ControlScreen))
            assert raw.get(f"feature:{NAME}") == other.replace(b'"percentage":90', b'"percentage":40')
            assert len(edits(raw)) == 1
    finally:
        raw.close()


async def test_a_flag_changed_while_the_confirmation_is_open_no_longer_applies(redis_server: RedisServer) -> None:
    raw = redis.Redis.from_url(redis_server.url)
    raw.set(f"feature:{NAME}", ORIGINAL)
    other = ORIGINAL.replace(b'"owner":"web"', b'"owner":"payments"')
    app = room(redis_server.url)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            editor = await open_editor(pilot, app, "40")
            confirm = await review(pilot, app)
            raw.set(f"feature:{NAME}", other)  # the change feed brings it; the open dialog refreshes
            live = confirm.query_one("#confirm-live", Static)
            await until(pilot, lambda: text(live).startswith("This no longer applies"))
            assert f"Flag {NAME} was changed since the editor read it" in text(live)
            assert 'owner "web" → "payments"' in text(live)
            assert confirm.query_one("#confirm", Button).disabled
            await pilot.click("#confirm")  # disabled: does nothing
            await pilot.pause()
            assert raw.get(f"feature:{NAME}") == other and edits(raw) == []
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is editor)
            await until(pilot, lambda: editor.has_class("-conflict"))
            assert editor.query_one("#field-percentage", Input).value == "40", "the edits stay"
            assert editor.version != confirm.preview.command.expected_version
            assert raw.get(f"feature:{NAME}") == other
    finally:
        raw.close()
