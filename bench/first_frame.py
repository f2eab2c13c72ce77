"""Time to the first full frame: `shiftroom demo` against a bare Textual app.

Both run in a 160x45 pty (see bench/pty_run.py for the exact definition of
"first full frame"); one unmeasured run of each first (it writes Python's
bytecode cache and warms the file cache, as any second start of an installed
program finds them), then N runs each, interleaved (room, baseline, room, ...),
so a slow moment of the machine hits both. Prints the medians and the ratio.

The room's first frame is its opening (app/screens/opening.py): the header, the tabs and the
scenario's targets by name, painted before the engine is built. The time to the first write that
shows the targets' observed state (a phase from the engine's first snapshot; an update rewrites
only the lines that changed, so it is the end of that write, not of a whole screen) is measured in
the same runs' rotation and printed beside it, so both are in the figures.

    python -m bench.first_frame [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
from typing import TypedDict

from bench.common import (
    BASELINE_MARKERS,
    ROOM_MARKERS,
    ROOT,
    SIZE,
    baseline_command,
    check_painted,
    median,
    ratio,
    room_command,
)
from bench.pty_run import PtyResult, first_full_frame, run_in_pty

RUNS = 5
#: Give up on a run that has not painted after this many seconds.
TIMEOUT = 30.0


#: On screen once the engine's first snapshot is drawn: release-day's blue-green pair starts Initialized
#: (the opening shows "…" in the phase column).
OBSERVED_MARKERS = (*ROOM_MARKERS, "Initialized")


class FirstFrame(TypedDict):
    room: list[float]  # seconds to the first full frame, one per run
    baseline: list[float]
    observed: list[float]  # seconds to the first frame with the engine's state
    room_median: float
    baseline_median: float
    observed_median: float


def one(cmd: list[str], markers: tuple[str, ...]) -> PtyResult:
    return run_in_pty(
        cmd, columns=SIZE[0], lines=SIZE[1], duration=TIMEOUT, markers=markers, stop_after_frame=0.2, cwd=str(ROOT)
    )


def measure(runs: int = RUNS) -> FirstFrame:
    room: list[float] = []
    base: list[float] = []
    observed: list[float] = []
    check_painted("shiftroom demo", one(room_command(), ROOM_MARKERS))  # warm-up, not counted
    check_painted("the baseline app", one(baseline_command(), BASELINE_MARKERS))
    for _ in range(runs):
        r = one(room_command(), ROOM_MARKERS)
        room.append(check_painted("shiftroom demo", r))
        b = one(baseline_command(), BASELINE_MARKERS)
        base.append(check_painted("the baseline app", b))
        o = one(room_command(), OBSERVED_MARKERS)
        check_painted("shiftroom demo's observed state", o)
        # An update rewrites only the lines that changed: the end of the write that showed the state.
        at = first_full_frame(o.chunks, OBSERVED_MARKERS)
        assert at is not None  # check_painted saw the markers
        observed.append(at)
    return {
        "room": room,
        "baseline": base,
        "observed": observed,
        "room_median": median(room),
        "baseline_median": median(base),
        "observed_median": median(observed),
    }


def report(m: FirstFrame) -> list[str]:
    room, base = m["room_median"], m["baseline_median"]
    lines = [
        f"first full frame at {SIZE[0]}x{SIZE[1]}, median of {len(m['room'])} interleaved runs",
        f"  shiftroom demo   {room * 1000:7.0f} ms   (runs: {', '.join(f'{x * 1000:.0f}' for x in m['room'])})",
        f"  baseline app     {base * 1000:7.0f} ms   (runs: {', '.join(f'{x * 1000:.0f}' for x in m['baseline'])})",
        f"  ratio            {ratio(room, base)}   (+{(room - base) * 1000:.0f} ms over a bare Textual app)",
        f"  observed state   {m['observed_median'] * 1000:7.0f} ms   ({ratio(m['observed_median'], base)}; "
        "the first frame with the engine's first snapshot)",
    ]
    return lines


def summary(m: FirstFrame) -> str:
    return (
        f"first full frame: {m['room_median'] * 1000:.0f} ms vs baseline {m['baseline_median'] * 1000:.0f} ms "
        f"({ratio(m['room_median'], m['baseline_median'])}); observed state {m['observed_median'] * 1000:.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.first_frame")
    p.add_argument("--runs", type=int, default=RUNS)
    a = p.parse_args(argv)
    print("\n".join(report(measure(a.runs))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
