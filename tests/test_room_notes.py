"""The header says what cannot be trusted (invalid data, audit queue); the event log marks unverified entries."""

from __future__ import annotations

from app.model import AuditEvent, BackendHealth, HealthStatus, Level
from app.screens.help import HelpScreen
from tests.test_room_oncall import NARROW, WIDE, make
from tests.ui_states import STATE, T0
from widgets.event_log import UNVERIFIED_MARK, EventLog, event_text
from widgets.header import RoomHeader, notes_text
from widgets.palette import Palette

NOTED = STATE.model_copy(update={"invalid_flags": 2, "invalid_experiments": 1, "audit_queued": 3})


def header_line(app) -> str:  # type: ignore[no-untyped-def]
    """The header's row as the terminal shows it."""
    header = app.query_one(RoomHeader)
    strips = app.screen._compositor.render_strips()
    return "".join(seg.text for seg in strips[header.region.y])


def test_notes_text_says_nothing_when_all_is_well() -> None:
    assert notes_text(STATE) == "" and notes_text(STATE, compact=True) == ""
    assert notes_text(NOTED) == "2 flags, 1 experiment invalid │ audit: 3 queued"
    assert notes_text(NOTED, compact=True) == "bad 2 flags 1 exp audit 3 queued"
    one = STATE.model_copy(update={"invalid_experiments": 1})
    assert notes_text(one) == "1 experiment invalid"


async def test_header_shows_invalid_counts_and_the_audit_queue_at_160_columns() -> None:
    app, engine = make(STATE)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert app.query_one(RoomHeader).notes == ""
        assert "invalid" not in header_line(app) and "queued" not in header_line(app)
        engine.publish(NOTED.model_copy(update={"seq": STATE.seq + 1}))
        await pilot.pause()
        line = header_line(app)
        assert "2 flags, 1 experiment invalid │ audit: 3 queued" in line
        assert "scenario canary-degrades" in line and "sim 09:41:07 │ 12:00:00 UTC" in line
        engine.publish(STATE.model_copy(update={"seq": STATE.seq + 2}))
        await pilot.pause()
        assert "queued" not in header_line(app), "the note goes once the queue is empty"


async def test_header_keeps_the_notes_backends_and_real_time_at_80_columns() -> None:
    app, _ = make(NOTED)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        line = header_line(app)
        assert "bad 2 flags 1 exp audit 3 queued" in line
        for name in ("cluster", "metrics stale", "store", "12:00 UTC"):
            assert name in line, f"{name!r} dropped from {line!r}"


async def test_header_with_the_audit_dot_down_and_entries_queued_at_80_columns() -> None:
    health = (*STATE.health, BackendHealth(name="audit", kind="redis", status=HealthStatus.DOWN, reason="refused"))
    app, _ = make(STATE.model_copy(update={"audit_queued": 12, "health": health}))
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        line = header_line(app)
        for name in ("audit down", "audit 12 queued", "12:00 UTC", "store"):
            assert name in line, f"{name!r} dropped from {line!r}"


UNSIGNED = AuditEvent(
    t=T0 - 5,
    actor="mallory@x\x1b[2J",
    target="shop/payments",
    action="promote",
    reason="typed by hand",
    level=Level.INFO,
    verified=False,
)
SIGNED = AuditEvent(t=T0 - 4, actor="engine", target="shop/payments", action="step", reason="ok", verified=True)


def test_event_text_marks_only_unverified_entries_with_one_ascii_cell() -> None:
    p = Palette()
    bad, good = event_text(UNSIGNED, p).plain, event_text(SIGNED, p).plain
    assert bad.startswith(f"{UNVERIFIED_MARK} ") and UNVERIFIED_MARK.isascii() and len(UNVERIFIED_MARK) == 1
    assert not good.startswith(UNVERIFIED_MARK)
    assert "\x1b" not in bad, "outside strings are cleaned"
    unchecked = event_text(SIGNED.model_copy(update={"verified": None}), p).plain
    assert not unchecked.startswith(UNVERIFIED_MARK), "no signing: nothing to mark"


async def test_event_log_marks_unverified_entries_and_its_title_says_what_the_mark_means() -> None:
    app, engine = make(STATE)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        log = app.query_one(EventLog)
        assert "unverified" not in str(log.border_title)
        engine.publish(STATE.model_copy(update={"seq": STATE.seq + 1, "events": (*STATE.events, UNSIGNED, SIGNED)}))
        await pilot.pause()
        assert log.unverified == 1
        assert "? = unverified (unsigned or altered): 1" in str(log.border_title)
        rendered = [line.text for line in log.lines]
        assert any(text.startswith(f"{UNVERIFIED_MARK} ") and "mallory" in text for text in rendered)


async def test_help_explains_the_unverified_mark() -> None:
    app, _ = make(STATE)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert f"Event log: {UNVERIFIED_MARK} in front of an entry = unverified" in app.screen.text
