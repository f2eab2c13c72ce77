"""What the room costs a terminal (and an SSH link) once it is running.

`shiftroom demo --speed 10` and the bare baseline app each run in a 160x45 pty
for WINDOW_END seconds, once with truecolor (COLORTERM=truecolor, Textual's own
detection: a local modern terminal) and once with TEXTUAL_COLOR_SYSTEM=256.
Note: over plain `ssh` COLORTERM is usually not forwarded, and Textual's
detection then picks 256 colours from TERM=xterm-256color by itself.

Figures, over the steady-state window [WINDOW_START, WINDOW_END) seconds after
spawn (start-up and first paint are outside it):
  bytes/s   bytes the app wrote to the pty per second
  CPU       (utime+stime) of the app per wall second: share of one core
plus the size of the first full frame (bytes written up to it).

    python -m bench.terminal_bytes [--start 5 --end 15]
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
    env_for,
    kib,
    ratio,
    room_command,
)
from bench.pty_run import CLK_TCK, PtyResult, run_in_pty

WINDOW_START = 5.0
WINDOW_END = 15.0
COLORS = ("truecolor", "256")
SPEED = "10"


class Run(TypedDict):
    bytes_per_s: float
    cpu_share: float | None  # None: too few CPU samples in the window
    first_frame_bytes: float
    total_bytes: float
    first_frame: float


class Measurement(TypedDict):
    window: tuple[float, float]
    runs: dict[str, Run]  # "room/truecolor", "baseline/256", ...


def run(which: str, color: str, start: float, end: float) -> Run:
    cmd, markers = (
        (room_command("--speed", SPEED), ROOM_MARKERS) if which == "room" else (baseline_command(), BASELINE_MARKERS)
    )
    r: PtyResult = run_in_pty(
        cmd, columns=SIZE[0], lines=SIZE[1], duration=end + 0.3, markers=markers, env=env_for(color), cwd=str(ROOT)
    )
    first_frame = check_painted("shiftroom demo" if which == "room" else "the baseline app", r)
    return {
        "bytes_per_s": r.bytes_per_second(start, end),
        "cpu_share": r.cpu_share(start, end),
        "first_frame_bytes": float(r.bytes_between(0.0, first_frame + 1e-9)),
        "total_bytes": float(r.total_bytes),
        "first_frame": first_frame,
    }


def measure(start: float = WINDOW_START, end: float = WINDOW_END) -> Measurement:
    runs: dict[str, Run] = {}
    for color in COLORS:
        for which in ("room", "baseline"):
            runs[f"{which}/{color}"] = run(which, color, start, end)
    return {"window": (start, end), "runs": runs}


def _cpu(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:5.1f} %"


def report(m: Measurement) -> list[str]:
    start, end = m["window"]
    runs = m["runs"]
    lines = [
        f"terminal output at {SIZE[0]}x{SIZE[1]}, `shiftroom demo --speed {SPEED}` vs baseline, "
        f"steady state t={start:g}..{end:g} s",
        f"  {'colours':<10} {'app':<9} {'bytes/s':>11} {'vs base':>9} {'CPU/core':>9} {'vs base':>9} {'1st frame':>10}",
    ]
    for color in COLORS:
        room, base = runs[f"room/{color}"], runs[f"baseline/{color}"]
        for name, r in (("shiftroom", room), ("baseline", base)):
            vs_b = ratio(r["bytes_per_s"], base["bytes_per_s"]) if name == "shiftroom" else ""
            vs_c = ratio(r["cpu_share"], base["cpu_share"]) if name == "shiftroom" else ""
            lines.append(
                f"  {color:<10} {name:<9} {kib(r['bytes_per_s']) + '/s':>11} {vs_b:>9} "
                f"{_cpu(r['cpu_share']):>9} {vs_c:>9} {kib(r['first_frame_bytes']):>10}"
            )
    tc, c256 = runs["room/truecolor"], runs["room/256"]
    lines.append(
        f"  shiftroom 256 colours / truecolor: bytes/s {ratio(c256['bytes_per_s'], tc['bytes_per_s'])}, "
        f"first frame {ratio(c256['first_frame_bytes'], tc['first_frame_bytes'])}"
    )
    low = [runs[f"baseline/{c}"]["cpu_share"] for c in COLORS]
    if any(x is not None and x < 0.01 for x in low):
        resolution = 100 / CLK_TCK / (end - start)
        lines.append(
            f"  (the baseline's CPU is near the {resolution:.1f} % resolution of /proc's clock "
            "ticks over the window: its CPU ratio gives the order of magnitude only)"
        )
    if any(runs[f"baseline/{c}"]["bytes_per_s"] == 0 for c in COLORS):
        lines.append("  (—: the bare app writes nothing once painted, so there is no ratio to take)")
    return lines


def summary(m: Measurement) -> str:
    runs = m["runs"]
    tc, c256 = runs["room/truecolor"], runs["room/256"]
    btc = runs["baseline/truecolor"]
    return (
        f"steady state: {kib(tc['bytes_per_s'])}/s truecolor, {kib(c256['bytes_per_s'])}/s with 256 colours "
        f"(baseline {kib(btc['bytes_per_s'])}/s); CPU {_cpu(tc['cpu_share']).strip()} of a core "
        f"(baseline {_cpu(btc['cpu_share']).strip()})"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.terminal_bytes")
    p.add_argument("--start", type=float, default=WINDOW_START)
    p.add_argument("--end", type=float, default=WINDOW_END)
    a = p.parse_args(argv)
    print("\n".join(report(measure(a.start, a.end))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
