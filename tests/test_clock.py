from __future__ import annotations

import asyncio

from app.clock import EPOCH, VirtualClock


async def test_virtual_clock_wakes_sleepers_in_order_without_real_waiting() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, s: float) -> None:
        await clock.sleep(s)
        woke.append((name, clock.now() - EPOCH))

    tasks = [asyncio.create_task(sleeper("late", 600)), asyncio.create_task(sleeper("early", 30))]
    await clock.advance(29)
    assert woke == []
    await clock.advance(600)
    assert woke == [("early", 30.0), ("late", 600.0)]
    assert clock.now() == EPOCH + 629
    await asyncio.gather(*tasks)


async def test_periodic_task_ticks_once_per_interval() -> None:
    clock = VirtualClock()
    ticks: list[float] = []

    async def loop() -> None:
        while True:
            ticks.append(clock.now() - EPOCH)
            await clock.sleep(10)

    task = asyncio.create_task(loop())
    await clock.run_for(35)
    task.cancel()
    assert ticks == [0, 10, 20, 30]
