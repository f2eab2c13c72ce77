"""The event log follows the audit log: what another writer appends (the world's own controller beside a
read-only demo, another room on the same Redis) shows in the room as it comes, and nothing shows twice."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.clock import EPOCH, VirtualClock
from app.control.audit_trail import AuditTrail
from app.factory import RoomOptions, make_demo
from app.model import AuditEvent
from backends.redis import RedisAudit
from tests.servers.redis import RedisServer


async def until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def event(i: int, actor: str) -> AuditEvent:
    return AuditEvent(t=EPOCH + i, actor=actor, target="prod/checkout", action="step", reason=f"d{i}")


async def test_a_read_only_demo_shows_the_world_controllers_decisions() -> None:
    clock = VirtualClock()
    demo = make_demo(RoomOptions(scenario="bad-canary", virtual=True, read_only=True), clock)
    await demo.engine.start()
    try:
        await clock.run_for(400, step=1.0)
        await demo.engine.idle()
        by_pilot = [e for e in demo.engine.state.events if e.actor == "sim-controller"]
        assert by_pilot, "the world's controller decided things; the read-only room's log shows them"
        assert any(e.action == "rollback" for e in by_pilot)
        assert len({(e.t, e.action, e.target) for e in by_pilot}) == len(by_pilot), "each once"
    finally:
        await demo.engine.stop()


@pytest.mark.integration
async def test_another_rooms_entries_show_once_and_ours_are_not_repeated(redis_server: RedisServer) -> None:
    ours_log, theirs_log = RedisAudit(redis_server.url), RedisAudit(redis_server.url)
    ours = AuditTrail(ours_log, clock=VirtualClock())
    tasks = [asyncio.create_task(ours.run()), asyncio.create_task(ours.follow())]
    try:
        await asyncio.sleep(0.2)  # the feed has looked where the stream ends
        ours.record(event(1, "me@here"))
        await theirs_log.append(event(2, "them@there"))
        await until(lambda: any(e.actor == "them@there" for e in ours.events))
        await theirs_log.append(event(3, "them@there"))
        await until(lambda: len(ours.events) == 3)
        await asyncio.sleep(0.3)
        assert [(e.actor, e.reason) for e in ours.events] == [
            ("me@here", "d1"),
            ("them@there", "d2"),
            ("them@there", "d3"),
        ]
    finally:
        for task in tasks:
            task.cancel()
        await ours_log.aclose()
        await theirs_log.aclose()
