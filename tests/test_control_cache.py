"""The object cache on its own: informer semantics from a scripted watch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.clock import VirtualClock
from app.control.cache import ObjectCache
from app.model import HealthStatus
from backends.base import Deployment, NotFound, Route, Unavailable, WatchEvent

NS = "shop"
HOLD = "hold"  # in a script: wait until the test lets it go on


def dep(name: str, rv: int, image: str = "app:1") -> Deployment:
    return Deployment(name=name, namespace=NS, image=image, resource_version=str(rv))


class ScriptedCluster:
    """Each `watch()` plays the next script; a script ending in None breaks with `Unavailable`."""

    name = "scripted"
    read_only = False

    def __init__(self, *scripts: list[WatchEvent | str | None]) -> None:
        self.scripts = list(scripts)
        self.opened = 0
        self.hold = asyncio.Event()

    async def _play(self, script: list[WatchEvent | str | None]) -> AsyncIterator[WatchEvent]:
        for event in script:
            if event is None:
                raise Unavailable("scripted", "The scripted API went away.")
            if event == HOLD:
                await self.hold.wait()
                continue
            assert isinstance(event, WatchEvent)
            yield event
        await asyncio.Event().wait()

    def watch(self, namespace: str | None = None) -> AsyncIterator[WatchEvent]:
        self.opened += 1
        return self._play(self.scripts.pop(0) if self.scripts else [])


def listed(*objs: Deployment | Route) -> list[WatchEvent | str | None]:
    return [
        WatchEvent(type="RESET"),
        *(WatchEvent(type="ADDED", kind=type(o).__name__, object=o) for o in objs),
        WatchEvent(type="SYNCED"),
    ]


async def settle(clock: VirtualClock, seconds: float = 0.0) -> None:
    await clock.settle()
    if seconds:
        await clock.advance(seconds)


async def test_list_then_changes_in_order_and_older_events_are_ignored() -> None:
    clock = VirtualClock()
    script = listed(dep("a", 3), dep("b", 4)) + [
        WatchEvent(type="MODIFIED", kind="Deployment", object=dep("a", 7, "app:2")),
        WatchEvent(type="MODIFIED", kind="Deployment", object=dep("a", 5, "app:old")),  # late and older
        WatchEvent(type="DELETED", kind="Deployment", object=dep("b", 8)),
    ]
    cache = ObjectCache(ScriptedCluster(script), clock, [NS])  # type: ignore[arg-type]
    try:
        assert not cache.synced(NS)
        with pytest.raises(Unavailable, match="has not listed it yet"):
            cache.deployment(NS, "a")
        cache.start()
        await settle(clock)
        assert cache.synced(NS) and cache.lists == 1
        assert cache.deployment(NS, "a").image == "app:2"
        with pytest.raises(NotFound, match="Deployment shop/b does not exist"):
            cache.deployment(NS, "b")
        cache.apply(dep("a", 6, "app:stale-write"))  # a write answered before the newer event: kept out
        assert cache.deployment(NS, "a").image == "app:2"
    finally:
        await cache.stop()


async def test_a_dropped_stream_is_stale_an_api_gone_is_down_and_a_relist_drops_what_is_gone() -> None:
    clock = VirtualClock()
    first = listed(dep("a", 1), dep("b", 2)) + [None]  # the stream drops after its list
    reopening = [HOLD, None]  # the reopened watch hangs, then the API does not answer at all
    third = listed(dep("a", 9, "app:3"))
    cluster = ScriptedCluster(first, reopening, third)
    cache = ObjectCache(cluster, clock, [NS], stale_after=30.0)  # type: ignore[arg-type]
    try:
        cache.start()
        await settle(clock)
        assert not cache.synced(NS) and cluster.opened == 2, "reopened at once after a dropped stream"
        health = cache.health(clock.now())
        assert health.status is HealthStatus.STALE and "showing the data from 0 s ago" in health.reason
        assert cache.deployment(NS, "b").resource_version == "2", "the last good data stays"
        assert cache.health(clock.now() + 40).status is HealthStatus.DOWN, "stale data grows too old"
        cluster.hold.set()
        await settle(clock)
        health = cache.health(clock.now())
        assert health.status is HealthStatus.DOWN and "The scripted API went away." in health.reason
        assert cache.age(NS, clock.now() + 7) == 7
        await settle(clock, 1.0)  # backoff, then the watch is reopened and lists again
        assert cluster.opened == 3 and cache.synced(NS) and cache.lists == 2
        assert cache.deployment(NS, "a").image == "app:3"
        assert cache.get("Deployment", NS, "b") is None, "not in the new list: gone"
        assert cache.health(clock.now()).status is HealthStatus.UP
    finally:
        cluster.hold.set()
        await cache.stop()


async def test_an_annotation_patch_is_applied_until_the_watch_event_carries_it() -> None:
    clock = VirtualClock()
    cache = ObjectCache(ScriptedCluster(listed(dep("a", 1))), clock, [NS])  # type: ignore[arg-type]
    try:
        cache.start()
        await settle(clock)
        cache.annotate("Deployment", NS, "a", {"k": "v"})
        assert cache.annotations("Deployment", NS, "a") == {"k": "v"}
        cache.apply(dep("a", 1))  # the same version again (a re-list): the patch we made is kept
        assert cache.annotations("Deployment", NS, "a") == {"k": "v"}
        cache.annotate("Deployment", NS, "a", {"k": None})
        assert cache.annotations("Deployment", NS, "a") == {}
    finally:
        await cache.stop()
