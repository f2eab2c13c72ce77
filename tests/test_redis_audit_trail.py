"""The audit trail loses nothing: a real Redis SIGKILLed mid-release, the local spool, signed entries."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from app.clock import EPOCH, VirtualClock
from app.control import audit_trail
from app.control.audit_spool import LEGACY_FILE
from app.control.audit_trail import AuditTrail
from app.model import AuditEvent, HealthStatus, Level
from backends.redis import RedisAudit
from backends.sim.store import SimAudit
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
        # on their way to a log that is up: queued, but nothing the header would call waiting
        assert trail.queued == 3 and trail.waiting == 0
        await until(lambda: trail.queued == 0)
        redis_server.stop(kill=True)
        for i in range(3, 9):
            trail.record(event(i))
            await asyncio.sleep(0.05)
        trail.record(event(9, "rollback"))
        await until(lambda: trail.health is not None and trail.health.status is HealthStatus.DOWN)
        await until(lambda: trail.queued == 7 and trail.spool.path.exists())
        assert trail.waiting == 7  # held back while the log is down: the header says so
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
    redis_server.stop(kill=True)  # the room before this one ran during an outage
    left = AuditTrail(RedisAudit(redis_server.url), clock=VirtualClock(), spool_dir=tmp_path)
    for i in range(4):
        left.record(event(i))
    await left.flush()  # nothing answers: everything goes to the spool
    assert left.queued == 4 and left.spool.pending() == 4
    await left.audit.aclose()  # type: ignore[union-attr]
    redis_server.start()

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


async def test_a_spool_is_only_replayed_into_the_log_it_was_meant_for(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Entries spooled for one Redis never go to another one, nor into a demo's in-memory log; an earlier
    version's single spool is taken over by the first durable log opened."""
    elsewhere = AuditTrail(RedisAudit("redis://127.0.0.1:1/0"), clock=VirtualClock(), spool_dir=tmp_path)
    elsewhere.record(event(1))
    await elsewhere.flush()  # nothing on port 1: spooled for that destination
    await elsewhere.audit.aclose()  # type: ignore[union-attr]
    assert elsewhere.spool.pending() == 1

    audit = RedisAudit(redis_server.url)
    here = AuditTrail(audit, clock=VirtualClock(), spool_dir=tmp_path)
    demo = AuditTrail(SimAudit(), clock=VirtualClock(), spool_dir=tmp_path)
    try:
        await here.load()
        await demo.load()
        await here.flush()
        await demo.flush()
        assert await audit.recent() == [] and await demo.audit.recent() == []  # type: ignore[union-attr]
        assert elsewhere.spool.pending() == 1, "still waiting for its own Redis"

        legacy = tmp_path / LEGACY_FILE
        elsewhere.spool.path.rename(legacy)
        again = AuditTrail(audit, clock=VirtualClock(), spool_dir=tmp_path)
        await again.load()
        await again.flush()
        assert [e.reason for e in await audit.recent()] == ["decision 1"] and not legacy.exists()
    finally:
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
