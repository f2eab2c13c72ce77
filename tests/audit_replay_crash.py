"""A room that dies in the middle of an audit replay: run as a child process by tests/test_redis_audit_once.py.

    python -m tests.audit_replay_crash URL SPOOL_DIR KEY_FILE N

Replays the spool in SPOOL_DIR into the Redis audit stream at URL exactly as a room does
(`AuditTrail.load` then `flush`, signing with the key in KEY_FILE) and kills itself with
SIGKILL right after Redis took the Nth entry: after the Redis write, before the spool
notes any delivery. Exits 3 if it got through the replay without dying.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from app.clock import RealClock
from app.control.audit_trail import AuditTrail
from app.model import AuditEvent
from backends.redis import RedisAudit


class DiesAfter(RedisAudit):
    """The real Redis audit stream; the process is SIGKILLed once `after` entries were written to it."""

    def __init__(self, url: str, key: bytes, after: int) -> None:
        super().__init__(url, key=key)
        self.after = after
        self.written = 0

    async def append_once(self, event: AuditEvent, entry_id: str) -> bool:
        written = await super().append_once(event, entry_id)
        self.written += written
        if self.written >= self.after:
            os.kill(os.getpid(), signal.SIGKILL)
        return written


async def replay(url: str, spool_dir: Path, key: bytes, after: int) -> None:
    trail = AuditTrail(DiesAfter(url, key, after), clock=RealClock(), spool_dir=spool_dir)
    await trail.load()
    await trail.flush()


def main(argv: list[str]) -> int:
    url, spool_dir, key_file, after = argv
    asyncio.run(replay(url, Path(spool_dir), Path(key_file).read_bytes().strip(), int(after)))
    print("the replay ended without the crash it was meant to have", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
