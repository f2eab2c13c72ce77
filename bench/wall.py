"""What the wall and a big room cost: bytes to the terminal and CPU, beside baselines from the same run.

- `shiftroom watch` with 20 rollouts at 160x50 (the first 20 targets of the
  `fleet` scenario), bytes per second in steady state, beside the room
  (`shiftroom demo`) on the same world at the same size, and the bare baseline app;
- `shiftroom demo --scenario fleet --speed 1` (50 rollouts, one update per
  simulated second), CPU as a share of one core (the child's user+system CPU
  time per wall second), beside the bare baseline app: REPEATS runs of each,
  alternately, and their medians.

Both with TEXTUAL_COLOR_SYSTEM=256 (what plain `ssh` gets) over the window
[WINDOW_START, WINDOW_END) seconds after spawn.

    python -m bench.wall [--start 5 --end 15] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

from bench.baseline_app import MARKERS as BASELINE_MARKERS
from bench.common import ROOT, baseline_command, check_painted, env_for, kib, median, ratio, room_command, shiftroom
from bench.pty_run import PtyResult, run_in_pty

WINDOW_START = 5.0
WINDOW_END = 15.0
WALL_SIZE = (160, 50)
WALL_MARKERS = ("SHIFTROOM WATCH", "READ-ONLY", "shop-api")
ROOM_MARKERS = ("shop-api",)


def fleet_of(n: int, directory: Path) -> Path:
    """The `fleet` scenario cut to its first `n` targets, as a file."""
    source = ROOT / "backends" / "sim" / "scenarios" / "fleet.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    kept = data["targets"][:n]
    data.update(name=f"fleet-{n}", targets=kept, images={t["name"]: data["images"][t["name"]] for t in kept})
    path = directory / f"fleet-{n}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run(
    cmd: list[str], markers: tuple[str, ...], size: tuple[int, int], start: float, end: float, name: str
) -> dict[str, float | None]:
    r: PtyResult = run_in_pty(
        cmd, columns=size[0], lines=size[1], duration=end + 0.3, markers=markers, env=env_for("256"), cwd=str(ROOT)
    )
    check_painted(name, r)
    return {"bytes_per_s": r.bytes_per_second(start, end), "cpu_share": r.cpu_share(start, end)}


def watch_command(*args: str) -> list[str]:
    return shiftroom("watch", *args)


#: The 50-rollout room and the bare app run this many times each, alternately; the figures are medians.
REPEATS = 3


def _median_of(runs: list[dict[str, float | None]], key: str) -> float | None:
    values = [v for r in runs if (v := r[key]) is not None]
    return median(values) if values else None


def measure(
    start: float = WINDOW_START, end: float = WINDOW_END, repeats: int = REPEATS
) -> dict[str, dict[str, float | None]]:
    with tempfile.TemporaryDirectory(prefix="shiftroom-bench-") as tmp:
        twenty = str(fleet_of(20, Path(tmp)))
        m = {
            "watch20": _run(watch_command("--demo", twenty), WALL_MARKERS, WALL_SIZE, start, end, "shiftroom watch"),
            "room20": _run(room_command("--scenario", twenty), ROOM_MARKERS, WALL_SIZE, start, end, "shiftroom demo"),
            "base160x50": _run(baseline_command(), BASELINE_MARKERS, WALL_SIZE, start, end, "the baseline app"),
        }
    big: list[dict[str, float | None]] = []
    base: list[dict[str, float | None]] = []
    fleet = room_command("--scenario", "fleet", "--speed", "1")
    for _ in range(repeats):  # alternately, so a busy moment of the machine hits both
        big.append(_run(fleet, ROOM_MARKERS, (160, 45), start, end, "shiftroom demo (fleet)"))
        base.append(_run(baseline_command(), BASELINE_MARKERS, (160, 45), start, end, "the baseline app"))
    for name, runs in (("room50", big), ("base160x45", base)):
        m[name] = {"bytes_per_s": _median_of(runs, "bytes_per_s"), "cpu_share": _median_of(runs, "cpu_share")}
        m[name + "/runs"] = {f"cpu_share/{i}": r["cpu_share"] for i, r in enumerate(runs)}
    return m


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f} %"


def report(m: dict[str, dict[str, float | None]]) -> list[str]:
    w, r, b = m["watch20"], m["room20"], m["base160x50"]
    big, base = m["room50"], m["base160x45"]
    return [
        "wall and big room, 256 colours, steady state",
        f"  watch, 20 rollouts, 160x50:  {kib(w['bytes_per_s'] or 0)}/s   room on the same world: "
        f"{kib(r['bytes_per_s'] or 0)}/s ({ratio(w['bytes_per_s'], r['bytes_per_s'])})   bare app: "
        f"{kib(b['bytes_per_s'] or 0)}/s   goal <= 8 KiB/s",
        f"  room, 50 rollouts, 1 update/s: CPU {_pct(big['cpu_share'])} of a core   bare app: "
        f"{_pct(base['cpu_share'])} ({ratio(big['cpu_share'], base['cpu_share'])})   goal <= 5 %",
        f"    (medians of {len(m['room50/runs'])} alternating runs each; room: {_runs(m['room50/runs'])}; "
        f"bare app: {_runs(m['base160x45/runs'])})",
    ]


def _runs(runs: dict[str, float | None]) -> str:
    return ", ".join(_pct(x) for x in runs.values())


def summary(m: dict[str, dict[str, float | None]]) -> str:
    w, big = m["watch20"], m["room50"]
    return (
        f"watch, 20 rollouts at 160x50: {kib(w['bytes_per_s'] or 0)}/s (goal 8 KiB/s); "
        f"room, 50 rollouts: {_pct(big['cpu_share'])} of a core (goal 5 %)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.wall", description=__doc__.splitlines()[0])
    p.add_argument("--start", type=float, default=WINDOW_START)
    p.add_argument("--end", type=float, default=WINDOW_END)
    p.add_argument("--repeats", type=int, default=REPEATS, help="runs of the 50-rollout room and of the bare app")
    args = p.parse_args(argv)
    print("\n".join(report(measure(args.start, args.end, args.repeats))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
