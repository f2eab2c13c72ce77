"""A read-only demo lives: the simulated world's own controller drives the releases the room only watches."""

from __future__ import annotations

import pytest

from app.clock import VirtualClock
from app.factory import RoomOptions, make_demo
from app.model import Phase


@pytest.mark.asyncio
async def test_a_read_only_demo_sees_the_canary_promoted() -> None:
    clock = VirtualClock()
    demo = make_demo(RoomOptions(scenario="healthy-canary", virtual=True, read_only=True), clock)
    assert demo.engine.read_only and demo.autopilot is not None and not demo.autopilot.read_only
    await demo.engine.start()
    seen: set[Phase] = set()
    try:
        for _ in range(60):
            await clock.run_for(10)
            rollout = demo.engine.state.rollout("microservices-canary")
            assert rollout is not None
            seen.add(rollout.phase)
            if rollout.phase is Phase.SUCCEEDED:
                break
    finally:
        await demo.engine.stop()
    assert rollout is not None and Phase.PROGRESSING in seen and rollout.phase is Phase.SUCCEEDED
    assert rollout.stable_image == "microservices/api:1.5.0"
    assert demo.autopilot._tasks == []  # stopped with the room


@pytest.mark.asyncio
async def test_a_writable_demo_has_no_second_controller() -> None:
    demo = make_demo(RoomOptions(scenario="healthy-canary", virtual=True), VirtualClock())
    assert demo.autopilot is None
