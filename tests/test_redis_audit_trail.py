"""The audit trail loses nothing: a real Redis SIGKILLed mid-release, the local spool, signed entries."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from app.clock import EPOCH, VirtualClock
from app.control import audit_trail
from app.control.audit_trail import AuditTrail
from app.model import AuditEvent, HealthStatus, Level
from backends.redis import RedisAudit
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration
KEY = b"0123456789abcdef-test-key"


def event(i: int, action: str = "step") -> AuditEvent:
    return AuditEvent(
        t=EPOCH + i,
        actor="shiftroom@host#1",
        target="prod/checkout",
        action=action,
        reason=f"decision {i}",
        before={"weight": i},
        after={"weight": i + 10},
        level=Level.INFO,
    )


async def until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.fixture(autouse=True)
def fast_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_trail, "RETRY_EVERY", 0.1)


async def test_redis_killed_mid_release_loses_no_event_and_health_recovers_on_the_first_ping(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    audit = RedisAudit(redis_server.url)
    trail = AuditTrail(audit, clock=VirtualClock(), spool_dir=tmp_path)
    runner = asyncio.create_task(trail.run())
    try:
        for i in range(3):
            trail.record(event(i))
        await until(lambda: trail.queued == 0)
        redis_server.stop(kill=True)
        for i in range(3, 9):
            trail.record(event(i))
            await asyncio.sleep(0.05)
        trail.record(event(9, "rollback"))
        await until(lambda: trail.health is not None and trail.health.status is HealthStatus.DOWN)
        await until(lambda: trail.queued == 7 and trail.spool.path.exists())
        assert trail.spool.pending() == 7, "on disk, not only in memory"
        assert "Redis" in trail.health.reason  # type: ignore[union-attr]
        redis_server.start()  # same port, empty
        started = time.monotonic()
        await until(lambda: trail.health is not None and trail.health.status is HealthStatus.UP)
        assert time.monotonic() - started < 3, "up as soon as a ping succeeds"
        await until(lambda: trail.queued == 0)
        stored = await audit.recent(50)
        assert [e.reason for e in stored] == [f"decision {i}" for i in range(3, 10)], "in order, none lost"
        assert [e.t for e in stored] == [EPOCH + i for i in range(3, 10)], "with their original times"
        assert stored[-1].action == "rollback"
        assert trail.spool.pending() == 0
    finally:
        runner.cancel()
        await audit.aclose()


async def test_a_room_started_with_a_non_empty_spool_replays_it_first(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    left = AuditTrail(
        RedisAudit(
            "redis://127.0.0.1:1/0",
        ),
        clock=VirtualClock(),
        spool_dir=tmp_path,
    )
    for i in range(4):
        left.record(event(i))
    await left.flush()  # nothing listens on port 1: everything goes to the spool
    assert left.queued == 4 and left.spool.pending() == 4
    await left.audit.aclose()  # type: ignore[union-attr]

    audit = RedisAudit(redis_server.url)
    trail = AuditTrail(audit, clock=VirtualClock(), spool_dir=tmp_path)
    await trail.load()
    assert trail.queued == 4
    trail.record(event(10))
    runner = asyncio.create_task(trail.run())
    try:
        await until(lambda: trail.queued == 0)
        assert [e.reason for e in await audit.recent()] == [f"decision {i}" for i in (0, 1, 2, 3, 10)]
    finally:
        runner.cancel()
        await audit.aclose()


async def test_signed_entries_verify_and_anything_else_is_marked(redis_server: RedisServer) -> None:
    audit = RedisAudit(redis_server.url, key=KEY)
    raw = redis_server.client()
    try:
        for i in range(3):
            await audit.append(event(i))
        raw.xadd("shiftroom:audit", {"actor": "mallory", "action": "flag-kill", "t": "1.0"})  # another client
        await audit.append(event(3))
        await audit.append(event(4))
        checked = await audit.entries(10)
        assert [c.problem for c in checked] == ["", "", "", "unsigned", "", ""]
        assert [c.event.verified for c in checked] == [True, True, True, False, True, True]
        # rewrite the stream with the same ids, one entry altered, then delete another entry
        entries = raw.xrange("shiftroom:audit")
        raw.delete("shiftroom:audit")
        for i, (entry_id, fields) in enumerate(entries):
            raw.xadd("shiftroom:audit", {**fields, b"reason": b"nothing happened"} if i == 1 else fields, id=entry_id)
        raw.xdel("shiftroom:audit", entries[4][0])
        problems = [c.problem for c in await audit.entries(10)]
        assert problems[1] == "altered" and problems[3] == "unsigned"
        assert problems[4].startswith("chain broken"), problems
        unkeyed = await RedisAudit(redis_server.url).recent()
        assert all(e.verified is None for e in unkeyed), "no key: nothing is claimed"
    finally:
        await audit.aclose()
        raw.close()
