"""Run a command in a pseudo-terminal and measure what it costs the terminal.

`run_in_pty(argv, ...)` starts `argv` on the slave side of a fresh pty of a
given size (TERM=xterm-256color, COLUMNS/LINES and TIOCSWINSZ set, the pty as
its controlling terminal, stdin/stdout/stderr all on it, as under `ssh -t`;
Python's bytecode cache allowed, as for an installed program), reads
everything it writes with a timestamp per read, answers the DECRQM queries
Textual sends at start-up the way a plain xterm does ("mode not recognised"),
samples the child's CPU time from /proc/<pid>/stat, then stops it: `q` first,
SIGTERM after a grace period, SIGKILL last.

Figures (all times in seconds since just before the child was spawned):

first full frame
    Find the first read after which every marker string has appeared in the
    output with escape sequences removed (the markers are the app's header
    text, its table's header cell and a table row's name: text that is only
    there once the screen shows its content). Textual paints a frame line by
    line, each line starting with a cursor move to its row; the frame is
    complete once the move to the screen's last row (`ESC[<lines>;1H`) has
    been written after the markers. The first full frame is the timestamp of
    the read holding that move, or of the last read of the same write burst
    (reads less than `FRAME_GAP` apart), which carries the rest of the
    bottom line. Python start-up and imports are included: it is the wait a
    user sees after pressing Enter.
bytes/s (steady state)
    Bytes read from the pty with timestamps in [window_start, window_end),
    divided by the window length.
CPU share
    (utime + stime) of the child at window_end minus at window_start, from
    /proc/<pid>/stat (all its threads), divided by the window length: 1.0 is
    one core fully busy.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

CLK_TCK = os.sysconf("SC_CLK_TCK")

#: CSI (incl. private/intermediate bytes), OSC (BEL or ST terminated), other two-byte ESC sequences.
_ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    rb"|\x1bP[^\x1b]*\x1b\\"
    rb"|\x1b[@-Z\\-_]"
    rb"|\x1b[()][0-9A-Za-z]"
)
#: DECRQM for a private mode: ESC [ ? Pd $ p
_DECRQM = re.compile(rb"\x1b\[\?(\d+)\$p")


@dataclass
class PtyResult:
    argv: list[str]
    size: tuple[int, int]
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    cpu_samples: list[tuple[float, float]] = field(default_factory=list)  # (t, cpu seconds)
    returncode: int | None = None
    stopped_by: str = ""  # "exit", "q", "SIGTERM", "SIGKILL"
    first_frame: float | None = None
    markers: tuple[str, ...] = ()
    answered: int = 0  # terminal queries answered

    @property
    def output(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    @property
    def total_bytes(self) -> int:
        return sum(len(c) for _, c in self.chunks)

    def text(self) -> str:
        """Everything written, escape sequences removed (for error messages)."""
        return strip_escapes(self.output).decode("utf-8", "replace")

    def bytes_between(self, start: float, end: float) -> int:
        return sum(len(c) for t, c in self.chunks if start <= t < end)

    def bytes_per_second(self, start: float, end: float) -> float:
        return self.bytes_between(start, end) / (end - start)

    def cpu_at(self, t: float) -> float | None:
        """CPU seconds of the child at the last sample taken at or before `t`."""
        best = None
        for ts, cpu in self.cpu_samples:
            if ts <= t:
                best = cpu
        return best

    def cpu_share(self, start: float, end: float) -> float | None:
        """CPU seconds used between the samples nearest `start` and `end`, per wall second."""
        inside = [(t, c) for t, c in self.cpu_samples if start - 0.25 <= t <= end + 0.25]
        if len(inside) < 2:
            return None
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else None

    @property
    def total_cpu(self) -> float | None:
        return self.cpu_samples[-1][1] if self.cpu_samples else None


def strip_escapes(data: bytes) -> bytes:
    return _ESCAPES.sub(b"", data)


#: Reads closer together than this belong to the same frame write.
FRAME_GAP = 0.005


def first_full_frame(
    chunks: Sequence[tuple[float, bytes]], markers: Sequence[str], lines: int | None = None, gap: float = FRAME_GAP
) -> float | None:
    """When the first frame showing every marker was completely written (see the module doc).

    Without `lines`, the end of the write burst in which the markers became visible.
    """
    offset = _marker_offset(chunks, markers)
    if offset is None:
        return None
    raw = b"".join(c for _, c in chunks)
    if lines is not None:
        last_row = re.compile(rb"\x1b\[%d;\d+H" % lines).search(raw, offset)
        if last_row is None:
            return None
        offset = last_row.end() - 1
    i = _chunk_at(chunks, offset)
    while i + 1 < len(chunks) and chunks[i + 1][0] - chunks[i][0] < gap:
        i += 1
    return chunks[i][0]


def _chunk_at(chunks: Sequence[tuple[float, bytes]], offset: int) -> int:
    end = 0
    for i, (_, c) in enumerate(chunks):
        end += len(c)
        if offset < end:
            return i
    raise IndexError(offset)


def first_time_with_all(chunks: Sequence[tuple[float, bytes]], markers: Sequence[str]) -> float | None:
    """Timestamp of the read that made every marker visible in the escape-free output."""
    offset = _marker_offset(chunks, markers)
    return None if offset is None else chunks[_chunk_at(chunks, offset)][0]


def _marker_offset(chunks: Sequence[tuple[float, bytes]], markers: Sequence[str]) -> int | None:
    """Raw offset of the byte that completed the last of the markers, in the escape-free output.

    The scan runs on the concatenation of the reads, so an escape sequence or
    a marker split across two reads is handled.
    """
    if not chunks:
        return None
    if not markers:
        return 0
    raw = b"".join(c for _, c in chunks)
    # Escape-free text, with the raw offset each kept byte came from.
    plain = bytearray()
    origin: list[int] = []
    pos = 0
    for m in _ESCAPES.finditer(raw):
        plain += raw[pos : m.start()]
        origin.extend(range(pos, m.start()))
        pos = m.end()
    plain += raw[pos:]
    origin.extend(range(pos, len(raw)))
    needed = 0
    for marker in markers:
        encoded = marker.encode()
        idx = plain.find(encoded)
        if idx < 0:
            return None
        needed = max(needed, origin[idx + len(encoded) - 1])
    return needed


def _set_winsize(fd: int, columns: int, lines: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))


def read_cpu_seconds(pid: int) -> float | None:
    """utime + stime of `pid` (all threads) in seconds, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # Fields after the command name, which is in parentheses and may contain spaces.
    rest = stat[stat.rindex(b")") + 2 :].split()
    utime, stime = int(rest[11]), int(rest[12])
    return (utime + stime) / CLK_TCK


def _child_setup() -> None:  # runs in the child between fork and exec
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_in_pty(
    argv: Sequence[str],
    *,
    columns: int = 160,
    lines: int = 45,
    duration: float = 10.0,
    markers: Sequence[str] = (),
    stop_after_frame: float | None = None,
    env: Mapping[str, str] | None = None,
    cpu_every: float = 0.25,
    answer_queries: bool = True,
    quit_key: bytes = b"q",
    grace: float = 3.0,
    cwd: str | None = None,
) -> PtyResult:
    """Run `argv` in a `columns`×`lines` pty for up to `duration` seconds and record its output.

    `stop_after_frame`: stop that many seconds after the markers first appear
    (first-frame runs need nothing more). The child is stopped with
    `quit_key`, then SIGTERM, then SIGKILL, each after `grace` seconds; a child
    that exits on its own is simply reaped.
    """
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL", "COLORTERM", "TERM_PROGRAM"))}
    # An installed program starts from compiled bytecode: let the child read and write its cache
    # (`__pycache__`, git-ignored) even where the shell that runs the bench turned that off.
    child_env.pop("PYTHONDONTWRITEBYTECODE", None)
    child_env.update({"TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(lines), "PYTHONUNBUFFERED": "1"})
    if env:
        child_env.update(env)
    master, slave = os.openpty()
    _set_winsize(slave, columns, lines)
    result = PtyResult(argv=list(argv), size=(columns, lines), markers=tuple(markers))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=child_env,
        cwd=cwd,
        preexec_fn=_child_setup,
        close_fds=True,
    )
    os.close(slave)
    os.set_blocking(master, False)
    seen = bytearray()  # recent output, for queries split across reads
    next_cpu = 0.0
    deadline = duration
    marker_bytes = [m.encode() for m in markers]
    found_at: float | None = None
    stop_stage = 0  # 0 running, 1 quit key sent, 2 SIGTERM sent, 3 SIGKILL sent
    stage_time = 0.0
    eof = False

    def now() -> float:
        return time.perf_counter() - t0

    try:
        while True:
            t = now()
            if t >= next_cpu and proc.poll() is None:
                cpu = read_cpu_seconds(proc.pid)
                if cpu is not None:
                    result.cpu_samples.append((t, cpu))
                next_cpu = t + cpu_every
            if stop_stage == 0 and t >= deadline:
                stop_stage, stage_time = 1, t
                result.stopped_by = "q"
                _write(master, quit_key)
            elif stop_stage == 1 and t - stage_time > grace and proc.poll() is None:
                stop_stage, stage_time = 2, t
                result.stopped_by = "SIGTERM"
                proc.send_signal(signal.SIGTERM)
            elif stop_stage == 2 and t - stage_time > grace and proc.poll() is None:
                stop_stage, stage_time = 3, t
                result.stopped_by = "SIGKILL"
                proc.kill()
            if eof and proc.poll() is not None:
                break
            if stop_stage == 3 and t - stage_time > grace:
                break
            wait = min(max(0.0, next_cpu - t), 0.05)
            ready, _, _ = select.select([master], [], [], wait)
            if not ready:
                if proc.poll() is not None and not eof:
                    # The child is gone; drain what is left, then stop.
                    eof = _drain(master, result, now)
                    if not eof:
                        eof = True
                continue
            try:
                data = os.read(master, 65536)
            except OSError as err:
                if err.errno in (errno.EIO, errno.EBADF):  # slave closed: child exited
                    eof = True
                    continue
                if err.errno == errno.EAGAIN:
                    continue
                raise
            if not data:
                eof = True
                continue
            t = now()
            result.chunks.append((t, data))
            if answer_queries:
                seen += data
                done = 0
                for m in _DECRQM.finditer(seen):
                    # "mode not recognised", what xterm answers for modes it does not know
                    _write(master, b"\x1b[?" + m.group(1) + b";0$y")
                    result.answered += 1
                    done = m.end()
                # keep a short unanswered tail in case a query is split across reads
                cut = seen.rfind(b"\x1b", done)
                seen = seen[cut:] if cut >= 0 and len(seen) - cut < 16 else bytearray()
            if marker_bytes and found_at is None and stop_after_frame is not None:
                if first_full_frame(result.chunks, markers, lines) is not None:
                    found_at = t
                    deadline = min(deadline, t + stop_after_frame)
            if stop_stage == 0 and t >= deadline:
                continue
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    result.returncode = proc.returncode
    if not result.stopped_by:
        result.stopped_by = "exit"
    result.first_frame = first_full_frame(result.chunks, markers, lines) if markers else None
    return result


def _write(fd: int, data: bytes) -> None:
    try:
        os.write(fd, data)
    except OSError:
        pass


def _drain(fd: int, result: PtyResult, now: Callable[[], float]) -> bool:
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return True
        if not data:
            return True
        result.chunks.append((now(), data))


def describe(r: PtyResult) -> str:
    frame = f"{r.first_frame:.3f} s" if r.first_frame is not None else "never"
    return (
        f"{' '.join(r.argv)}: first frame {frame}, {r.total_bytes} bytes, "
        f"stopped by {r.stopped_by}, exit {r.returncode}"
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.pty_run [--size 160x45] [--duration S] [--marker TEXT]... -- CMD ...`"""
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench.pty_run", description=main.__doc__)
    p.add_argument("--size", default="160x45")
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--marker", action="append", default=[])
    p.add_argument("--screen", action="store_true", help="print the escape-free output")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        p.error("give a command after --")
    cols, rows = (int(x) for x in a.size.lower().split("x"))
    r = run_in_pty(cmd, columns=cols, lines=rows, duration=a.duration, markers=a.marker)
    if a.screen:
        print(r.text())
    print(describe(r))
    if r.cpu_samples:
        print(f"cpu {r.total_cpu:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
