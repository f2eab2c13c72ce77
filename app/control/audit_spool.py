"""The audit spool: entries the audit backend could not take yet, kept on disk until it can.

One JSON line per entry (the stream fields of `app.audit.event_fields`, so
the entry's original time and every field survive), appended and fsync'd
before the room goes on; replayed in order by `AuditTrail` when the backend
answers again, by this room or by the next one started (a restarted room
replays what an earlier one left). The file is locked (`flock`) while it is
appended to or replayed, so two rooms never replay one entry at once.

Each line also carries `_uid`, a delivery id given when it is spooled (lines
spooled without one get the SHA-256 of the line). The spool is marked done
only after a replay, so a crash in the middle of one leaves entries on disk
that were already delivered; an audit log with `append_once` (Redis: the
delivered ids in one transaction with the entry) takes each id only once, so
the replay after the crash delivers each entry exactly once.

The directory is `$XDG_STATE_HOME/shiftroom/`, else `~/.local/state/shiftroom/`,
or `$SHIFTROOM_STATE_DIR` (tests, packaged installs).
"""

from __future__ import annotations

import fcntl
import hashlib
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
UID = "_uid"  # the delivery id's key in a spooled line (not a stream field)


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

    def append(self, events: Iterable[AuditEvent]) -> None:
        """Append and fsync; OSError (disk full, no permission) propagates: the caller keeps them in memory."""
        lines = "".join(
            json.dumps({UID: uuid.uuid4().hex, **event_fields(e)}, ensure_ascii=True) + "\n" for e in events
        )
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

    async def replay(self, deliver: Callable[[AuditEvent, str], Awaitable[object]]) -> None:
        """Deliver every spooled entry in order, with its delivery id; stop at the first failure (it propagates)
        keeping the rest."""
        if not self.path.exists():
            self.count = 0
            return
        with self._locked("r+") as fh:
            lines = [line for line in fh.read().splitlines() if line.strip()]
            done = 0
            try:
                for line in lines:
                    await deliver(*_entry(line))
                    done += 1
            finally:
                fh.seek(0)
                fh.truncate()
                fh.write("".join(line + "\n" for line in lines[done:]))
                fh.flush()
                os.fsync(fh.fileno())
                self.count = len(lines) - done


def _entry(line: str) -> tuple[AuditEvent, str]:
    """The spooled event and its delivery id."""
    try:
        fields = json.loads(line)
    except ValueError:
        fields = {"action": "unreadable-spool-entry", "reason": line[:200]}
    if not isinstance(fields, dict):
        fields = {"action": "unreadable-spool-entry", "reason": line[:200]}
    uid = fields.pop(UID, None)
    if not isinstance(uid, str) or not uid:
        uid = hashlib.sha256(line.encode("utf-8", "surrogatepass")).hexdigest()
    return event_from_fields({str(k): str(v) for k, v in fields.items()}), uid
