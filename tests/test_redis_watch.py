"""Live change detection: keyspace notifications when Redis has them, polling when it has not."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from backends.redis import Change, RedisStore
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def watching(store: RedisStore, **kwargs: float) -> AsyncIterator[asyncio.Queue[Change]]:
    queue: asyncio.Queue[Change] = asyncio.Queue()

    async def pump() -> None:
        async for change in store.watch_changes(**kwargs):
            queue.put_nowait(change)

    task = asyncio.create_task(pump())
    deadline = time.monotonic() + 5
    while store.watch_mode not in ("keyspace", "polling"):
        assert time.monotonic() < deadline, f"the watcher did not start ({store.watch_mode})"
        await asyncio.sleep(0.01)
    try:
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_change(queue: asyncio.Queue[Change], within: float) -> tuple[Change, float]:
    start = time.monotonic()
    change = await asyncio.wait_for(queue.get(), timeout=within)
    return change, time.monotonic() - start


async def test_keyspace_notifications_report_changes_made_elsewhere(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    store = RedisStore(redis_server.url)
    try:
        assert await store.notify_mode() == "keyspace"
        async with watching(store) as queue:
            assert store.watch_mode == "keyspace"
            raw.set("feature:checkout", b'{"enabled":true}')
            change, took = await next_change(queue, 1.0)
            assert change == Change("flag", "checkout") and took < 0.5
            raw.set("experiment:exp-1", b"{}")
            assert (await next_change(queue, 1.0))[0] == Change("experiment", "exp-1")
            raw.delete("feature:checkout")
            assert (await next_change(queue, 1.0))[0] == Change("flag", "checkout")
            raw.set("assignment:exp-1:u1", b"control")  # not a flag or an experiment: no change
            raw.set("feature:second", b"{}")
            assert (await next_change(queue, 1.0))[0] == Change("flag", "second")
            assert queue.empty()
    finally:
        await store.aclose()
        raw.close()


async def test_polling_reports_changes_within_a_second_when_notifications_are_off(redis_factory) -> None:
    server = redis_factory(notify_keyspace=False)
    raw = server.client()
    raw.set("feature:existing", b'{"enabled":false}')
    store = RedisStore(server.url)
    try:
        assert await store.notify_mode() == "polling"
        async with watching(store) as queue:
            assert store.watch_mode == "polling"
            assert queue.empty()  # what existed before the watch is not a change
            for i, (key, expected) in enumerate(
                [
                    ("feature:existing", Change("flag", "existing")),
                    ("experiment:exp-9", Change("experiment", "exp-9")),
                ]
            ):
                raw.set(key, f'{{"v":{i}}}'.encode())
                change, took = await next_change(queue, 1.5)
                assert change == expected and took <= 1.2, took
            raw.delete("feature:existing")
            assert (await next_change(queue, 1.5))[0] == Change("flag", "existing")
            assert queue.empty()
    finally:
        await store.aclose()
        raw.close()


async def test_forbidden_config_falls_back_to_polling(redis_server: RedisServer) -> None:
    raw = redis_server.client()
    raw.execute_command("ACL", "SETUSER", "room", "on", ">room-pw", "~*", "&*", "+@all", "-config")
    store = RedisStore(f"redis://room:room-pw@127.0.0.1:{redis_server.port}/0")
    try:
        assert await store.notify_mode() == "polling"
        async with watching(store) as queue:
            assert store.watch_mode == "polling"
            raw.set("feature:x", b"{}")
            assert (await next_change(queue, 1.5))[0] == Change("flag", "x")
    finally:
        await store.aclose()
        raw.close()


async def test_the_watcher_survives_a_restart_and_reports_what_changed_meanwhile(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url)
    try:
        redis_server.client().set("feature:kept", b"{}")
        async with watching(store, poll_interval=0.2) as queue:
            redis_server.stop(kill=True)
            deadline = time.monotonic() + 3
            while store.watch_mode != "disconnected":
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            redis_server.start()  # empty: "kept" is gone, which is a change
            raw = redis_server.client()
            assert (await next_change(queue, 3.0))[0] == Change("flag", "kept")
            raw.set("feature:after", b"{}")
            assert (await next_change(queue, 1.0))[0] == Change("flag", "after")
            assert store.watch_mode == "keyspace"
            raw.close()
    finally:
        await store.aclose()
