"""Hostile strings from outside, through the real widgets and `shiftroom audit`: nothing reaches the terminal raw.

The room is rendered to the exact character sequence a terminal would receive
(the compositor's full update); `shiftroom audit` runs in a subprocess against a
real redis-server whose stream holds entries XADDed by "another client".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import backends.sim.store as sim_store
from app.clock import VirtualClock
from app.factory import RoomOptions, make_app
from app.model import AuditEvent, Level
from app.sanitize import clean
from tests.servers.redis import RedisServer

ROOT = Path(__file__).resolve().parents[1]

#: What an attacker with write access to Redis (or a Kubernetes annotation) would try.
HOSTILE = [
    "\x1b]0;pwned\x07",  # OSC: retitle the terminal
    "\x1b[2J",  # clear the screen
    "x\x1b[1A\x1b[2K",  # erase the line above
    "\x9b31m",  # C1 CSI
    "\u202eevil",  # right-to-left override
    "\u2066iso\u2069",  # isolates
    "bell\x07del\x7f",
    "\x1bP+q\x1b\\",  # DCS
    "\ud800lone",  # a lone surrogate (valid JSON, served by the seed)
]
#: Characters that must never come out of data onto the terminal.
FORBIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\x07\x7f\x80-\x9f\ud800-\udfff]")
#: The escape sequences Textual itself writes: SGR colours, cursor moves, mode switches.
OWN_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def hostile_flags() -> dict[str, dict[str, Any]]:
    flags: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(HOSTILE):
        flags[f"f{i}{s}"] = {"enabled": s, "environments": ["production"], "public": {"note": s}}
        flags[f"ok{i}"] = {"enabled": True, "environments": [s], "userWhitelist": [s]}
    return flags


def hostile_experiments() -> dict[str, dict[str, Any]]:
    return {
        f"e{i}{s}": {
            "name": f"name{s}",
            "status": "active",
            "traffic_split": {"control": 50, f"v{s}": 50},
            "metrics": {"primary": f"m{s}"},
            "min_sample_size": 10,
        }
        for i, s in enumerate(HOSTILE)
    }


def terminal_output(app: Any) -> str:
    """The exact sequence a terminal would receive to draw the current screen."""
    update = app.screen._compositor.render_full_update()
    return str(update.render_segments(app.console))


def assert_nothing_raw(output: str) -> None:
    data = OWN_ESCAPES.sub("", output)
    assert "\x1b" not in data, repr(data[data.index("\x1b") - 20 : data.index("\x1b") + 20])
    found = FORBIDDEN.search(data)
    assert found is None, repr(data[max(0, found.start() - 20) : found.end() + 20])


async def test_hostile_names_values_and_events_are_shown_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_store, "SEED_FLAGS", hostile_flags())
    monkeypatch.setattr(sim_store, "SEED_EXPERIMENTS", hostile_experiments())
    clock = VirtualClock()
    app = make_app(RoomOptions(scenario="healthy-canary", seed=3, virtual=True, actor="oncall@room"), clock=clock)
    app.animation_level = "none"
    async with app.run_test(size=(160, 45)) as pilot:
        for i, s in enumerate(HOSTILE):
            await app.engine.record(
                AuditEvent(
                    t=clock.now(), actor=f"a{s}", target=f"t{s}", action=f"kill{s}", reason=f"r{i}{s}", level=Level.WARN
                )
            )
        await clock.run_for(20, step=5)
        await pilot.pause()
        seen = []
        for tab in ("1", "2", "3"):
            await pilot.press(tab)
            await pilot.pause()
            output = terminal_output(app)
            assert_nothing_raw(output)
            seen.append(output)
        everything = "".join(seen)
        # what was injected is visible, escaped, not silently dropped
        assert "\\x1b]0;pwned\\x07" in everything
        assert "\\u202eevil" in everything
        assert "\\ud800lone" in everything
        # toasts: a message naming a hostile flag is sanitized too
        app.notify(f"Flag f0{HOSTILE[0]} killed.", title=HOSTILE[1])
        await pilot.pause()
        assert_nothing_raw(terminal_output(app))


def _xadd_hostile(server: RedisServer) -> int:
    client = server.client()
    stream = "shiftroom:audit"
    count = 0
    for i, s in enumerate(HOSTILE):
        fields = {
            "t": "1767225600.0",
            "actor": f"a{s}",
            "target": f"t{s}",
            "action": f"act{s}",
            "reason": f"r{i}{s}",
            "before": json.dumps({"x": s}),
            "after": "{}",
            "level": "warn",
        }
        client.xadd(stream, {k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()})
        count += 1
    client.xadd(stream, {b"actor": b"\xff\xfe\x1b[2J", b"reason": b"\x1b]0;t\x07"})  # not UTF-8, not a record
    return count + 1


def test_shiftroom_audit_prints_hostile_entries_escaped(redis_server: RedisServer, tmp_path: Path) -> None:
    entries = _xadd_hostile(redis_server)
    env = {**os.environ, "SHIFTROOM_CONFIG": "", "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "--redis", redis_server.url],
        capture_output=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8", "surrogateescape")
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert FORBIDDEN.search(out) is None
    lines = out.strip().splitlines()
    assert len(lines) == entries  # every entry, the foreign one included, one line each
    assert "\\x1b]0;pwned\\x07" in out and "\\u202eevil" in out
    assert proc.stderr == b""


@pytest.mark.parametrize("s", HOSTILE)
def test_clean_escapes_each_hostile_string_visibly(s: str) -> None:
    out = clean(s)
    assert "\x1b" not in out and FORBIDDEN.search(out) is None
    assert "\\" in out
