"""The benchmark helpers work (fast; no timing is asserted)."""

from __future__ import annotations

import os
import sys

import pytest

from bench.canary_timing import rollback_timing
from bench.pty_run import first_full_frame, first_time_with_all, read_cpu_seconds, run_in_pty, strip_escapes


def test_pty_run_reads_everything_a_command_writes() -> None:
    code = "print('x' * 1000); print('DONE'); print('\\x1b[24;1Hbottom')"
    r = run_in_pty([sys.executable, "-c", code], columns=80, lines=24, duration=8.0, markers=("DONE",))
    assert r.total_bytes >= 1000
    assert r.output.count(b"x") == 1000
    assert r.first_frame is not None
    assert r.stopped_by == "exit" and r.returncode == 0


def test_pty_run_gives_the_child_a_terminal_of_the_requested_size() -> None:
    code = "import os, sys; print(os.isatty(1), os.get_terminal_size(1), os.environ['TERM'])"
    r = run_in_pty([sys.executable, "-c", code], columns=123, lines=45, duration=8.0)
    text = r.text()
    assert "True" in text and "columns=123, lines=45" in text and "xterm-256color" in text


def test_pty_run_answers_mode_queries_and_stops_a_child_that_waits() -> None:
    code = (
        "import sys, os, tty; tty.setraw(0); sys.stdout.write('\\x1b[?2026$p'); sys.stdout.flush();"
        "reply = os.read(0, 32); print(repr(reply)); sys.stdout.flush(); os.read(0, 1)"
    )
    r = run_in_pty([sys.executable, "-c", code], duration=1.0, grace=2.0)
    assert r.answered == 1
    assert "2026;0$y" in r.text()
    assert r.stopped_by == "q"  # the pending read got the quit key


def test_markers_are_found_across_reads_and_escape_sequences() -> None:
    chunks = [
        (0.10, b"\x1b[1;1Hhead"),
        (0.20, b"er \x1b[38;2;1;2"),
        (0.30, b";3mTARGET\x1b[0m\n\x1b[2;1Hrow"),
        (0.40, b"\n\x1b[3"),
        (0.41, b";1Hbottom"),
        (0.4102, b" line"),
        (0.50, b"\x1b[3;1Hlater frame"),
    ]
    assert strip_escapes(b"".join(c for _, c in chunks)).startswith(b"header TARGET\nrow\nbottom line")
    assert first_time_with_all(chunks, ("header", "TARGET")) == 0.30
    # complete once the move to the last row (3) is written, with the rest of that write burst
    assert first_full_frame(chunks, ("header", "TARGET"), lines=3) == 0.4102
    assert first_full_frame(chunks, ("header", "TARGET"), lines=4) is None
    assert first_time_with_all(chunks, ("missing",)) is None


def test_cpu_seconds_of_a_live_process() -> None:
    assert read_cpu_seconds(os.getpid()) is not None
    assert read_cpu_seconds(2**22 + 12345) is None


def _tl(*events: tuple[float, str]) -> list[dict]:
    return [{"t": t, "target": "ns/api", "action": a} for t, a in events] + [
        {"t": 5.0, "target": "ns/other", "action": "rollback"}
    ]


def test_rollback_timing_counts_intervals_from_the_first_failure() -> None:
    timeline = _tl(
        (0, "start"), (10, "step"), (20, "step"), (30, "check-failed"), (40, "check-failed"), (50, "rollback")
    )
    t = rollback_timing(timeline, "ns/api", interval=10.0, threshold=3)
    assert (t.onset, t.first_failure, t.rollback, t.failed_ticks) == (20, 30, 50, 3)
    assert t.intervals == 2 and t.from_first_failure == 20 and t.from_onset == 30
    # Flagger looks at the count before analysing: one interval later.
    assert t.flagger_rollback == 60 and t.flagger_from_first_failure == 30 and t.flagger_from_onset == 40


def test_rollback_timing_edge_cases() -> None:
    # threshold 1: the rollback is the first failure
    t = rollback_timing(_tl((0, "start"), (10, "step"), (20, "rollback")), "ns/api", 10.0, 1)
    assert (t.first_failure, t.rollback, t.intervals, t.flagger_rollback) == (20, 20, 0, 30)
    # a rollback before the threshold (critical bound, abort) is the same tick under both
    t = rollback_timing(_tl((0, "start"), (10, "step"), (20, "check-failed"), (30, "rollback")), "ns/api", 10.0, 5)
    assert (t.intervals, t.flagger_rollback) == (1, 30)
    # only the analysis that ended in the rollback counts
    t = rollback_timing(
        _tl((0, "start"), (10, "check-failed"), (20, "start"), (30, "step"), (40, "rollback")), "ns/api", 10.0, 1
    )
    assert (t.onset, t.first_failure) == (30, 40)
    assert rollback_timing(_tl((0, "start"), (10, "step")), "ns/api", 10.0, 3) is None


def test_the_benches_run_this_checkouts_code() -> None:
    from bench.common import ROOT, room_command, shiftroom

    assert room_command("--speed", "1")[:4] == [sys.executable, "-m", "app", "demo"]
    code = "import app, widgets; print(app.__file__); print(widgets.__file__)"
    r = run_in_pty([sys.executable, "-c", code], duration=8.0, cwd=str(ROOT))
    # the pty folds long lines; the paths are there once the line breaks are gone
    assert r.text().replace("\r", "").replace("\n", "").count(str(ROOT / "app" / "__init__.py")) == 1
    v = run_in_pty(shiftroom("--version"), duration=8.0, cwd=str(ROOT))
    assert "shiftroom" in v.text() and v.returncode == 0


def test_the_child_may_use_pythons_bytecode_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as in a shell that turned it off
    r = run_in_pty([sys.executable, "-c", "import sys; print('cache', not sys.dont_write_bytecode)"], duration=8.0)
    assert "cache True" in r.text()
