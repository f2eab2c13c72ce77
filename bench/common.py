"""What the benches share: the two commands, their marker text, and printing."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from bench.baseline_app import MARKERS as BASELINE_MARKERS
from bench.pty_run import PtyResult, describe

ROOT = Path(__file__).resolve().parent.parent
SIZE = (160, 45)  # columns, lines: the size the snapshots and STYLE.md use

#: On screen once the room's first full frame is painted: the header's mode
#: badge, the rollouts table's header cell and a row of the demo's data.
ROOM_MARKERS = ("DEMO", "target", "microservices-canary")


def shiftroom(*args: str) -> list[str]:
    """This checkout's `shiftroom`: `python -m app`, run with ROOT as the working directory (every bench
    passes `cwd=ROOT`), so the code measured is the code beside the bench, not an installed copy of another
    checkout (the console script imports whatever `pip install -e` pointed at)."""
    return [sys.executable, "-m", "app", *args]


def room_command(*args: str) -> list[str]:
    """`shiftroom demo ...` from this checkout."""
    return shiftroom("demo", *args)


def baseline_command() -> list[str]:
    return [sys.executable, "-m", "bench.baseline_app"]


def env_for(color: str) -> dict[str, str]:
    """Terminal environment for a colour mode: 'truecolor' (COLORTERM=truecolor, Textual's
    own detection, as a local modern terminal) or '256' (TEXTUAL_COLOR_SYSTEM=256)."""
    if color == "truecolor":
        return {"COLORTERM": "truecolor"}
    return {"TEXTUAL_COLOR_SYSTEM": color}


def check_painted(name: str, r: PtyResult) -> float:
    """When `r` showed its first frame (seconds); a run that never did is a failure to report, with what it printed."""
    if r.first_frame is not None:
        return r.first_frame
    tail = "\n".join(r.text().splitlines()[-25:])
    raise SystemExit(f"{name} never painted its first frame ({describe(r)}); last output:\n{tail}")


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "n/a"
    if b == 0:
        return "—"  # a ratio to nothing is not a number
    return f"{a / b:.2f}×"


def kib(n: float) -> str:
    return f"{n / 1024:.1f} KiB"


__all__ = [
    "BASELINE_MARKERS",
    "ROOM_MARKERS",
    "ROOT",
    "SIZE",
    "baseline_command",
    "check_painted",
    "env_for",
    "kib",
    "median",
    "ratio",
    "room_command",
    "shiftroom",
]
