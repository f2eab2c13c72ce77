"""The audit spool is delivered exactly once to a real redis-server, whatever happens in the middle.

A room killed (SIGKILL, in a child process) after Redis took spooled entries and before the
spool noted them replays them again; each entry is still in the stream once, in order, with
its original time, and the signed chain verifies (`shiftroom audit --verify`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.clock import EPOCH, VirtualClock
from app.control.audit_spool import Spool
from app.control.audit_trail import AuditTrail
from app.model import AuditEvent, HealthStatus, Level
from backends.base import IdempotentAudit, Unavailable
from backends.redis import RedisAudit
from tests.servers.redis import RedisServer
from tests.test_cli import ROOT

pytestmark = pytest.mark.integration
KEY = b"a-long-enough-random-secret-0123456789"
AWAY = "redis://127.0.0.1:1/0"  # nothing listens there: the audit backend is down


def event(i: int) -> AuditEvent:
    return AuditEvent(
        t=EPOCH + i * 7.25,
        actor="shiftroom@host#1",
        target="prod/checkout",
        action="rollback" if i == 3 else "step",
        reason=f"decision {i}",
        before={"weight": i},
        after={"weight": i + 10},
        level=Level.WARN if i == 3 else Level.INFO,
    )


async def spool_while_down(spool_dir: Path, count: int) -> list[str]:
    """`count` entries recorded by a room whose audit backend is down: spooled; their delivery ids."""
    trail = AuditTrail(RedisAudit(AWAY, key=KEY), clock=VirtualClock(), spool_dir=spool_dir)
    for i in range(count):
        trail.record(event(i))
    await trail.flush()
    await trail.audit.aclose()  # type: ignore[union-attr]
    assert trail.spool.pending() == count
    return spooled_ids(trail.spool)


def spooled_ids(spool: Spool) -> list[str]:
    if not spool.path.exists():
        return []
    return [json.loads(line)["uid"] for line in spool.path.read_text().splitlines() if line.strip()]


def stream(raw: Any) -> list[dict[bytes, bytes]]:
    return [fields for _, fields in raw.xrange("shiftroom:audit")]


def shiftroom(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIFTROOM_CONFIG": str(config)}
    env.pop("SHIFTROOM_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_the_redis_audit_log_is_idempotent() -> None:
    assert isinstance(RedisAudit(AWAY), IdempotentAudit)


@pytest.mark.parametrize("crash_after", [1, 4], ids=["killed-after-the-first-write", "killed-after-every-write"])
async def test_a_replay_killed_after_the_redis_write_and_before_the_spool_mark_delivers_each_entry_once(
    redis_server: RedisServer, tmp_path: Path, crash_after: int
) -> None:
    spool_dir = tmp_path / "state"
    ids = await spool_while_down(spool_dir, 4)
    assert len(set(ids)) == 4, "each spooled entry has its own id"
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(KEY + b"\n")
    raw = redis_server.client()

    child = subprocess.run(
        [sys.executable, "-m", "tests.audit_replay_crash", redis_server.url, str(spool_dir), str(key_file)]
        + [str(crash_after)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stderr)
    assert [f[b"uid"].decode() for f in stream(raw)] == ids[:crash_after], "Redis took them"
    assert spooled_ids(Spool(spool_dir)) == ids, "the spool never noted them: a replay sends them again"

    audit = RedisAudit(redis_server.url, key=KEY)
    trail = AuditTrail(audit, clock=VirtualClock(), spool_dir=spool_dir)
    try:
        await trail.load()  # a room started again: it replays the spool first
        await trail.flush()
        assert trail.queued == 0 and trail.spool.pending() == 0
        entries = stream(raw)
        assert [f[b"uid"].decode() for f in entries] == ids, "each entry exactly once, in order"
        stored = await audit.recent(50)
        assert [e.reason for e in stored] == [f"decision {i}" for i in range(4)]
        assert [e.t for e in stored] == [EPOCH + i * 7.25 for i in range(4)], "with their original times"
        assert [e.action for e in stored][3] == "rollback" and all(e.verified for e in stored)
        assert raw.zcard("shiftroom:audit:delivered") == 4
    finally:
        await audit.aclose()
        raw.close()

    config = tmp_path / "shiftroom.yaml"
    config.write_text(f"audit:\n  key_file: {key_file}\n")
    verified = shiftroom("audit", "--verify", "--redis", redis_server.url, config=config)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    lines = verified.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("ok ") for line in lines), lines


class LosesTheReply(RedisAudit):
    """Redis takes the entry, then the reply is lost (a timeout after the write): the trail sees a failure."""

    lose = 1

    async def append_once(self, event: AuditEvent, entry_id: str) -> bool:
        written = await super().append_once(event, entry_id)
        if self.lose:
            self.lose -= 1
            raise Unavailable("redis", "Redis at the test URL cannot be reached while recording an audit event.")
        return written


async def test_an_entry_whose_reply_was_lost_is_spooled_and_sent_again_without_a_duplicate(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    audit = LosesTheReply(redis_server.url, key=KEY)
    trail = AuditTrail(audit, clock=VirtualClock(), spool_dir=tmp_path)
    raw = redis_server.client()
    try:
        trail.record(event(0))
        trail.record(event(1))
        await trail.flush()
        assert trail.health is not None and trail.health.status is HealthStatus.DOWN
        assert trail.spool.pending() == 2 and len(stream(raw)) == 1, "Redis has the first, the spool both"
        await trail.flush()
        assert trail.queued == 0
        assert [f[b"reason"] for f in stream(raw)] == [b"decision 0", b"decision 1"]
        assert all(c.problem == "" for c in await audit.entries(10)), "the chain verifies"
    finally:
        await audit.aclose()
        raw.close()


async def test_delivered_ids_are_kept_for_the_retention_then_trimmed(redis_server: RedisServer) -> None:
    audit = RedisAudit(redis_server.url, retention=0.5)
    raw = redis_server.client()
    try:
        assert await audit.append_once(event(0), "id-a") is True
        assert await audit.append_once(event(0), "id-a") is False, "within the retention: written once"
        time.sleep(0.7)
        assert await audit.append_once(event(1), "id-b") is True
        assert raw.zrange("shiftroom:audit:delivered", 0, -1) == [b"id-b"], "older ids trimmed: the set is bounded"
        assert len(stream(raw)) == 2
    finally:
        await audit.aclose()
        raw.close()


async def test_lines_of_an_older_spool_get_their_ids_on_disk_before_any_delivery(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.path.write_text(
        "".join(json.dumps({"actor": "a", "t": str(EPOCH + i), "action": "step"}) + "\n" for i in range(2))
    )
    delivered: list[tuple[float, str]] = []

    async def fails_second(e: AuditEvent, uid: str) -> None:
        assert uid in spooled_ids(spool), "the id is on disk before the entry goes out"
        if delivered:
            raise Unavailable("redis", "down")
        delivered.append((e.t, uid))

    with pytest.raises(Unavailable):
        await spool.replay(fails_second)
    assert delivered[0][0] == EPOCH
    (left,) = spooled_ids(spool)
    assert left and left != delivered[0][1] and spool.pending() == 1
