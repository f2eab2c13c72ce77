"""`shiftroom wait TARGET --until STATE [--timeout 30m]`: block until the rollout gets there, or cannot.

On a terminal a one-line progress (weight, step, failed checks, time left) is
redrawn in place; otherwise nothing but the result is printed.
"""

from __future__ import annotations

import sys
from typing import TextIO

from app.model import Rollout
from app.sanitize import clean
from app.verbs import FAILED, OK, TIMEOUT, UNREACHABLE
from app.verbs.backend import BackendOptions, Session, cluster_down, open_session
from app.verbs.phases import judge
from app.verbs.report import duration, emit, rollout_object
from app.verbs.targets import find

#: Clock seconds between two looks at the state.
POLL = 1.0


async def wait(
    backend: BackendOptions, target: str, until: str, timeout: float, as_json: bool, out: TextIO | None = None
) -> int:
    out = out or sys.stdout
    progress = out.isatty() and not as_json
    session = await open_session(backend)
    try:
        key = find(session.state, target, session.known).key
        code, rollout, started = await _wait(session, key, until, timeout, progress, out)
        elapsed = session.clock.now() - started
        down = cluster_down(session.state)
    finally:
        await session.close()
    if progress:
        out.write("\r\x1b[K")
    outcome = {OK: "reached", FAILED: "failed", TIMEOUT: "timeout", UNREACHABLE: "unreachable"}[code]
    if as_json:
        emit(
            {
                **rollout_object(rollout, session.state.t),
                "kind": "wait",
                "until": until,
                "result": outcome,
                "exit": code,
                "waited": round(elapsed, 3),
                "reason": clean(down) if code == UNREACHABLE else "",
            },
            out,
        )
    else:
        print(_sentence(rollout, until, code, elapsed, down), file=out)
    return code


async def _wait(
    session: Session, key: str, until: str, timeout: float, progress: bool, out: TextIO
) -> tuple[int, Rollout, float]:
    started = session.clock.now()
    while True:
        rollout = session.state.rollout(key)
        assert rollout is not None  # targets do not disappear from a running engine
        verdict = judge(rollout, until)
        if verdict is not None:
            return (OK if verdict == "reached" else FAILED), rollout, started
        left = timeout - (session.clock.now() - started)
        if left <= 0:
            return (UNREACHABLE if cluster_down(session.state) else TIMEOUT), rollout, started
        if progress:
            out.write("\r\x1b[K" + progress_line(rollout, left)[: _width()])
            out.flush()
        await session.advance(min(POLL, left))


def progress_line(r: Rollout, left: float) -> str:
    parts = [clean(r.key), r.phase.value + (" (paused)" if r.paused else ""), f"weight {r.actual.canary}%"]
    if r.steps:
        parts.append(f"step {r.step}/{r.steps}")
    if r.threshold:
        parts.append(f"failed checks {r.failed_checks}/{r.threshold}")
    parts.append(f"{duration(left)} left")
    return "  ".join(parts)


def _width() -> int:
    import shutil

    return max(20, shutil.get_terminal_size((80, 24)).columns - 1)


def _sentence(r: Rollout, until: str, code: int, elapsed: float, down: str) -> str:
    after = f"after {duration(elapsed)}"
    what = clean(r.decision or r.message, 160)
    tail = f": {what}" if what else ""
    if code == OK:
        return f"{clean(r.key)} is {until} {after}{tail}"
    if code == FAILED:
        checks = f", failed checks {r.failed_checks}/{r.threshold}" if r.threshold else ""
        where = f" at weight {r.actual.canary}%{checks}"
        return f"{clean(r.key)} ended {r.phase.value} while waiting for {until} {after}{where}{tail}"
    if code == UNREACHABLE:
        return f"{clean(r.key)}: the cluster could not be reached for {duration(elapsed)}: {clean(down)}"
    return f"{clean(r.key)} is still {r.phase.value}, not {until}, {after} (timeout){tail}"
