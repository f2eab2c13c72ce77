"""The audit spool: entries the audit backend could not take yet, kept on disk until it can.

One JSON line per entry (the stream fields of `app.audit.event_fields`, so
the entry's original time and every field survive, plus `uid`, the entry's
delivery id), appended and fsync'd before the room goes on; replayed in order
by `AuditTrail` when the backend answers again, by this room or by the next one
started (a restarted room replays what an earlier one left). The file is locked
(`flock`) while it is appended to or replayed, so two rooms never replay one
entry at the same time.

Delivered entries are taken off the file when a replay ends (or stops at a
failure). A room killed in between, after the backend took an entry and
before the file says so, replays that entry again; the id makes that
harmless with a backend that writes each id once (`IdempotentAudit`: the
Redis stream), so delivery is exactly once. A line from an older spool without
an id gets one, written to the file before anything is delivered.

The directory is `$XDG_STATE_HOME/shiftroom/`, else `~/.local/state/shiftroom/`,
or `$SHIFTROOM_STATE_DIR` (tests, packaged installs).
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from app.audit import event_fields, event_from_fields
from app.model import AuditEvent

FILE = "audit-spool.jsonl"
#: The field of a spool line that holds the entry's delivery id.
UID = "uid"
#: One spooled entry: its delivery id and the event.
Entry = tuple[str, AuditEvent]


def new_id() -> str:
    """A delivery id for a new audit entry: 128 random bits, hex."""
    return uuid.uuid4().hex


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("SHIFTROOM_STATE_DIR"):
        return Path(env["SHIFTROOM_STATE_DIR"]).expanduser()
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "shiftroom"


class Spool:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.count = 0  # entries on disk, as far as this room knows

    @property
    def path(self) -> Path:
        return (self.directory or state_dir()) / FILE

    @contextmanager
    def _locked(self, mode: str) -> Iterator[IO[str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, mode, encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield fh
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def append(self, entries: Iterable[Entry]) -> None:
        """Append and fsync; OSError (disk full, no permission) propagates: the caller keeps them in memory."""
        lines = "".join(_line(uid, event) for uid, event in entries)
        if not lines:
            return
        with self._locked("a") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())
        self.count += lines.count("\n")

    def pending(self) -> int:
        """How many entries wait on disk (read from the file: another room may have left some)."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                self.count = sum(1 for line in fh if line.strip())
        except FileNotFoundError:
            self.count = 0
        return self.count

    async def replay(self, deliver: Callable[[AuditEvent, str], Awaitable[None]]) -> None:
        """Deliver every spooled entry in order, with its id; stop at the first failure (it propagates)
        keeping the rest."""
        if not self.path.exists():
            self.count = 0
            return
        with self._locked("r+") as fh:
            read = [_entry(line) for line in fh.read().splitlines() if line.strip()]
            entries = [(uid or new_id(), event) for uid, event in read]
            if any(uid is None for uid, _ in read):  # a line of an older spool: its new id on disk first
                _rewrite(fh, [_line(uid, event) for uid, event in entries])
            done = 0
            try:
                for uid, event in entries:
                    await deliver(event, uid)
                    done += 1
            finally:
                _rewrite(fh, [_line(uid, event) for uid, event in entries[done:]])
                self.count = len(entries) - done


def _rewrite(fh: IO[str], lines: list[str]) -> None:
    fh.seek(0)
    fh.truncate()
    fh.write("".join(lines))
    fh.flush()
    os.fsync(fh.fileno())


def _line(uid: str, event: AuditEvent) -> str:
    return json.dumps({UID: uid, **event_fields(event)}, ensure_ascii=True) + "\n"


def _entry(line: str) -> tuple[str | None, AuditEvent]:
    """(its id, or None for a line without one; the event); an unreadable line still becomes an entry."""
    try:
        fields = json.loads(line)
    except ValueError:
        fields = {"action": "unreadable-spool-entry", "reason": line[:200]}
    if not isinstance(fields, dict):
        fields = {"action": "unreadable-spool-entry", "reason": line[:200]}
    uid = fields.pop(UID, None)
    event = event_from_fields({str(k): str(v) for k, v in fields.items()})
    return (uid if isinstance(uid, str) and uid else None), event
