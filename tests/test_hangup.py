"""A room whose terminal hangs up exits by itself instead of spinning on it (and holding its Leases)."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.hangup import terminal_gone

ROOT = Path(__file__).resolve().parent.parent


def test_a_hung_up_terminal_is_seen_as_gone() -> None:
    master, slave = pty.openpty()
    try:
        assert not terminal_gone(slave)
        os.close(master)
        master = -1
        assert terminal_gone(slave)
    finally:
        os.close(slave)
        if master >= 0:
            os.close(master)


def _drain(master: int, seconds: float) -> bytes:
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
        if b"Rollouts" in out:
            return out
    return out


@pytest.mark.parametrize("ignore_sighup", [False, True], ids=["sighup", "eio-only"])
def test_the_room_exits_when_its_terminal_goes_away(ignore_sighup: bool) -> None:
    """With SIGHUP delivered, and with SIGHUP ignored by whoever started it (`nohup`, a make recipe):
    the room notices the dead terminal and closes within a few seconds, exit 0, not spinning."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="100", LINES="30")

    def child_setup() -> None:
        os.setsid()
        import fcntl
        import termios

        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        if ignore_sighup:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--scenario", "release-day"],
        cwd=ROOT,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        preexec_fn=child_setup,
    )
    os.close(slave)
    try:
        shown = _drain(master, 90.0)  # a loaded machine starts Python slowly
        assert b"Rollouts" in shown, "the room never drew its first frame"
        os.close(master)
        master = -1
        rc = proc.wait(timeout=60)  # a look at the terminal each second, then the engine stops
        # 0: closed the normal way; 129: the stop took longer than the grace period (a loaded machine) and the
        # process ended as a hang-up ends it. Either way it does not keep running on a dead terminal.
        assert rc in (0, 129)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if master >= 0:
            os.close(master)
