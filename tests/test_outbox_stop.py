"""Stopping the engine's outbox: what is queued gets a few seconds to go out; what cannot is counted, not lost
silently (the room says how many when it closes)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

from app.clock import VirtualClock
from app.control.health import HealthBoard
from app.control.outbox import Outbox

ROOT = Path(__file__).resolve().parent.parent


def outbox() -> Outbox:
    return Outbox(HealthBoard(VirtualClock()))


async def test_queued_deliveries_go_out_before_the_outbox_stops() -> None:
    box, sent = outbox(), []

    def slow(n: int):  # type: ignore[no-untyped-def]
        async def work() -> None:
            await asyncio.sleep(0.05)
            sent.append(n)

        return work

    for n in range(3):
        box.put("notify", slow(n))
    assert await box.stop(grace=5.0) == 0
    assert sent == [0, 1, 2]


async def test_what_cannot_go_out_in_time_is_counted() -> None:
    box, started = outbox(), asyncio.Event()

    async def hangs() -> None:
        started.set()
        await asyncio.Event().wait()

    async def never_reached() -> None:
        raise AssertionError("delivered after a hung one")

    box.put("notify", hangs)
    box.put("notify", never_reached)
    await started.wait()
    assert await box.stop(grace=0.1) == 2  # the one in flight and the one behind it
    assert box._tasks == {}


def test_the_room_says_how_many_deliveries_did_not_go_out(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from app import cli

        class App:
            return_code = 0
            _exception = None
            class engine:
                undelivered = 2
            def run(self):
                pass

        sys.exit(cli.run_app(App()))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    assert "2 notification or webhook deliveries could not go out" in proc.stderr
    assert proc.stderr.count("\n") == 1  # one sentence
