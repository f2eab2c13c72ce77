"""Profile this checkout's `shiftroom` in a pty, over a steady-state window only (cProfile, stdlib).

    python -m bench.profile [--start 5] [--end 35] [--size 160x45] [--out room.prof] -- demo --scenario fleet --speed 1

The command runs as the benches run it (`python -m app`, 256 colours, a real
pty); the profiler is switched on `--start` seconds after the start and off at
`--end`, from a timer signal in the main thread (Textual's thread), so start-up
and imports stay out of the figures. It prints the child's CPU share over the
window (which cProfile inflates: compare profiles with profiles) and the 25
most expensive functions; `python -m pstats OUT` reads the file further.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import sys
import time
from types import FrameType

from bench.common import ROOT, env_for
from bench.pty_run import run_in_pty


def _child(start: float, end: float, out: str, argv: list[str]) -> None:
    """In the profiled process: arm the timer, then run `shiftroom ARGV` as `python -m app` would."""
    profiler = cProfile.Profile(time.process_time)  # CPU time: a busy machine's waits are not counted
    began: list[float] = []

    def toggle(_signum: int, _frame: FrameType | None) -> None:
        if not began:
            began.extend((time.process_time(), time.perf_counter()))
            profiler.enable()
            signal.setitimer(signal.ITIMER_REAL, end - start)
            return
        profiler.disable()
        cpu, wall = time.process_time() - began[0], time.perf_counter() - began[1]
        profiler.dump_stats(out)
        with open(out + ".txt", "w", encoding="utf-8") as f:
            f.write(f"CPU {cpu:.2f} s over {wall:.1f} s: {100 * cpu / wall:.1f} % of a core (profiled)\n")

    signal.signal(signal.SIGALRM, toggle)
    signal.setitimer(signal.ITIMER_REAL, start)
    from app.cli import main

    main(argv)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    p.add_argument("--start", type=float, default=5.0)
    p.add_argument("--end", type=float, default=35.0)
    p.add_argument("--size", default="160x45")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "room.prof"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if a.child:
        _child(a.start, a.end, a.out, cmd)
        return 0
    if not cmd or a.end <= a.start:
        p.error("give a shiftroom command after -- and an --end after --start")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    cols, rows = (int(x) for x in a.size.lower().split("x"))
    child = [sys.executable, "-m", "bench.profile", "--child", "--start", str(a.start), "--end", str(a.end)]
    r = run_in_pty(
        [*child, "--out", a.out, "--", *cmd],
        columns=cols,
        lines=rows,
        duration=a.end + 1.0,
        env=env_for("256"),
        cwd=str(ROOT),
    )
    if not os.path.exists(a.out + ".txt"):
        print(f"no profile: the command ended before {a.end:g} s; last output:\n{r.text()[-1500:]}")
        return 1
    with open(a.out + ".txt", encoding="utf-8") as f:
        print(f.read().strip())
    pstats.Stats(a.out).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
