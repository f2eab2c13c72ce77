"""A room whose terminal went away closes itself, the normal way.

When the terminal hangs up (an SSH link drops, a tmux session is killed, the
room runs under `nohup` or a make recipe that keeps SIGHUP from it) every read
of the terminal returns nothing at once and every write fails. Left alone,
Textual's input thread spins on the reads, its output thread dies on the first
failed write, and the app blocks on the full output queue: a process that burns
a core for ever and keeps holding its targets' Leases.

So a watchdog thread looks at the terminal every `CHECK_EVERY` seconds (and at
once on SIGHUP). On a hang-up it points the dead terminal's file descriptors at
/dev/null, unblocks the output queue, and asks the app to exit as `q` would: the
engine stops and releases its Leases. If the app has not exited `GRACE` seconds
later, the process ends with exit status 129 (as a hang-up would end it).
"""

from __future__ import annotations

import os
import signal
import sys
import termios
import threading
from queue import Queue
from typing import Any

CHECK_EVERY = 1.0  # seconds between looks at the terminal
GRACE = 20.0  # seconds the app gets to stop its engine once the terminal is gone
HANGUP_STATUS = 129  # 128 + SIGHUP


def terminal_gone(fd: int) -> bool:
    """True when the terminal on `fd` has hung up (Linux answers EIO to every ioctl of a hung-up tty)."""
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return True
    return False


def _terminal_fds() -> list[int]:
    fds = []
    for stream in (sys.__stdin__, sys.__stdout__, sys.__stderr__):
        try:
            fd = stream.fileno() if stream is not None else -1
        except (OSError, ValueError):
            continue
        if fd >= 0 and os.isatty(fd):
            fds.append(fd)
    return fds


def close_on_hangup(app: Any) -> None:
    """Call from the app's on_mount: close `app` when its terminal goes away. Does nothing without a terminal
    (headless tests, `serve`, pipes)."""
    if getattr(app, "is_headless", False) or getattr(app, "is_web", False):
        return
    fds = _terminal_fds()
    if not fds:
        return
    hung_up = threading.Event()
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # under `nohup` it stays ignored, as asked
        signal.signal(signal.SIGHUP, lambda _signum, _frame: hung_up.set())
    threading.Thread(target=_watch, args=(app, fds, hung_up), name="shiftroom-hangup", daemon=True).start()


def _watch(app: Any, fds: list[int], hung_up: threading.Event) -> None:
    while not hung_up.wait(CHECK_EVERY):
        if terminal_gone(fds[0]):
            break
    _silence(fds)
    _unblock_output(app)
    try:
        app.call_from_thread(app.exit)
    except RuntimeError:  # the app's loop is already gone: it is exiting by itself
        return
    deadline = threading.Timer(GRACE, os._exit, args=(HANGUP_STATUS,))
    deadline.daemon = True  # a room that exits in time is not kept waiting for it
    deadline.start()


def _silence(fds: list[int]) -> None:
    """Point the dead terminal's descriptors at /dev/null: writes succeed, reads see end of file."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in fds:
        os.dup2(null, fd)
    os.close(null)


def _unblock_output(app: Any) -> None:
    """If Textual's output thread died on a write to the dead terminal, its bounded queue blocks the app's
    loop on the next write: drain it, so the app can run its exit."""
    writer = getattr(getattr(app, "_driver", None), "_writer_thread", None)
    queue = getattr(writer, "_queue", None)
    if writer is None or writer.is_alive() or not isinstance(queue, Queue):
        return

    def drain() -> None:
        while queue.get() is not None:
            pass

    threading.Thread(target=drain, name="shiftroom-hangup-drain", daemon=True).start()
