"""Publish on change: job progress and the audit queue reach the screens without waiting for a pass
(under a virtual clock that does not move, the next pass never comes), one snapshot per event-loop
turn however many changes it saw; and the header's counts of invalid data and queued audit entries."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app.clock import VirtualClock
from app.control.engine import Engine
from app.control.jobs import Progress
from app.model import AuditEvent, Experiment, Flag, RoomState
from backends.base import Unavailable
from backends.sim.build import build_world
from backends.sim.scenario import load_scenario
from tests.control_world import scenario_file


class Store:
    name = "memory"
    read_only = False

    async def ping(self) -> None: ...

    async def list_flags(self) -> list[Flag]:
        return [
            Flag(name="ok", enabled=True),
            Flag(name="bad", error="Flag bad is not usable: not JSON."),
            Flag(name="worse", error="Flag worse is not usable: a list."),
        ]

    async def list_experiments(self) -> list[Experiment]:
        return [Experiment(id="fine"), Experiment(id="broken", error="experiment broken: traffic_split sums to 90.")]

    async def get_flag_raw(self, name: str) -> tuple[dict[str, Any] | None, str]:
        return None, "0"

    async def put_flag_raw(self, name: str, config: Any, expected_version: str | None) -> str:
        raise AssertionError("no writes here")


class DownAudit:
    name = "audit-double"
    read_only = False
    destination = "audit-double"  # kept somewhere that can be down: its entries wait in a spool

    async def ping(self) -> None:
        raise Unavailable("audit-double", "The audit double is down.")

    async def append(self, event: AuditEvent) -> None:
        raise Unavailable("audit-double", "The audit double is down.")

    async def recent(self, limit: int = 200) -> list[AuditEvent]:
        return []


def engine(tmp_path: Path, **kwargs: Any) -> tuple[Engine, VirtualClock, list[RoomState]]:
    clock = VirtualClock()
    world = build_world(load_scenario(scenario_file(tmp_path, "name: quiet\nduration: 60\n")), clock)
    e = Engine(
        clock=clock,
        cluster=world.cluster,
        metrics=world.metrics,
        targets=world.targets,
        identity="shiftroom@test",
        **kwargs,
    )
    seen: list[RoomState] = []
    e.subscribe(seen.append)
    return e, clock, seen


async def test_job_progress_reaches_a_subscriber_without_the_clock_moving(tmp_path: Path) -> None:
    e, clock, seen = engine(tmp_path)
    go_on = asyncio.Event()
    t0 = clock.now()

    async def work(progress: Progress) -> str:
        for i in range(1, 4):  # three updates in one turn of the loop
            progress(i, 10, f"{i} of 10")
        await go_on.wait()
        return "counted"

    job = e.jobs.start("rebuild", "experiment x", work)
    for _ in range(3):
        await asyncio.sleep(0)
    assert clock.now() == t0
    assert [j.done for j in seen[-1].jobs if j.id == job.id] == [3]
    published = len(seen)
    assert published <= 2, "the start and the three updates coalesce into at most two snapshots"
    go_on.set()
    await e.jobs.wait(job.id)
    await asyncio.sleep(0)
    assert seen[-1].jobs[-1].status == "done" and seen[-1].jobs[-1].message == "counted"
    assert len(seen) == published + 1
    await e.jobs.stop()


async def test_no_publish_inside_a_pass(tmp_path: Path) -> None:
    e, clock, seen = engine(tmp_path)
    async with e._pass:  # a pass in progress
        e.jobs.start("rebuild", "experiment y", lambda progress: asyncio.sleep(0, "done"))
        for _ in range(3):
            await asyncio.sleep(0)
        assert seen == [], "the pass publishes what changed when it ends"
    await e.run_pass()
    assert seen and seen[-1].jobs[-1].status == "done"
    await e.cache.stop()


async def test_the_header_counts_invalid_data_and_queued_audit(tmp_path: Path) -> None:
    e, clock, seen = engine(tmp_path, store=Store(), audit=DownAudit())
    await e.refresh_store()
    state = seen[-1]
    assert (state.invalid_flags, state.invalid_experiments, state.audit_queued) == (2, 1, 0)
    e.trail.spool.directory = tmp_path  # never the user's state directory
    for i in range(3):
        await e.record(AuditEvent(t=clock.now(), actor="alice", target="t", action=f"a{i}"))
    await asyncio.sleep(0)
    # on their way, and the log not known to be down yet: nothing held back, no "audit: 3 queued" flash
    assert seen[-1].audit_queued == 0 and e.trail.queued == 3
    await e.trail.flush()  # the backend is down: they go to the spool, and the header counts them
    await asyncio.sleep(0)
    assert seen[-1].audit_queued == 3 and e.trail.spool.path.exists() and e.trail.spool.path.parent == tmp_path
    await e.cache.stop()
