"""Who drives each target: one Lease per target, held only while the room has something to do on it.

A target that is idle (no release in progress, no guard window open) holds no Lease: the room that
held it gives it back once (one write) and then sends nothing for it. Before any write for a target
(a controller's decision, or an operator's command) the room takes the Lease first (`claim`: one
write, with the resourceVersion of the last Lease it saw); another room that took it meanwhile wins,
and this room writes nothing and names it. While a target is driving, its Lease is renewed a third
of the lease's duration apart, not every pass. Who else holds a Lease is read from the cached Lease
objects (the watch), never fetched.
"""

from __future__ import annotations

import asyncio
import collections

from app.clock import Clock
from app.control.cache import ObjectCache
from app.model import Target
from backends.base import BackendError, Cluster, Conflict, LeaseHeld


def lease_name(target: Target) -> str:
    return f"shiftroom-{target.name}"


class HandsOff(Conflict):
    """Another room drives the target: this room writes nothing for it."""


class LeaseKeeper:
    def __init__(self, cluster: Cluster, cache: ObjectCache, identity: str, duration: float, clock: Clock) -> None:
        self.cluster = cluster
        self.clock = clock
        self.cache = cache
        self.identity = identity
        self.duration = duration
        self.holders: dict[str, str] = {}  # target key -> holder ("" = nobody / unknown)
        self._renewed: dict[str, float] = {}  # target key -> when this room last renewed its lease
        self._locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)

    def holder(self, key: str) -> str:
        return self.holders.get(key, "")

    def other(self, target: Target, now: float) -> str:
        """The room that holds the target's Lease when it is not this one and has not let it run out."""
        cached = self.cache.lease(target.namespace, lease_name(target))
        return cached.holder if cached is not None and cached.held_by_other(self.identity, now) else ""

    def _ours(self, target: Target, now: float) -> bool:
        if self.holders.get(target.key) == self.identity:
            return True
        cached = self.cache.lease(target.namespace, lease_name(target))  # left by this room before a restart
        return cached is not None and cached.holder == self.identity and now < cached.renewed + cached.duration

    async def settle(self, target: Target, now: float, busy: bool = True) -> tuple[str, BackendError | None]:
        """Who drives the target now, and the error met on the way: another room's live Lease makes this
        room hands-off (no request); a `busy` target's Lease is taken or renewed when due; an idle one's
        is given back once if this room holds it. One at a time per target (a pass and a slow tick's write)."""
        async with self._locks[target.key]:
            return await self._settle(target, now, busy)

    async def _settle(self, target: Target, now: float, busy: bool) -> tuple[str, BackendError | None]:
        key = target.key
        other = self.other(target, now)
        if other:
            self.holders[key] = other
            self._renewed.pop(key, None)
            return other, None
        if not busy:
            if self._ours(target, now):
                await self._release(target)
            self.holders[key] = ""
            return "", None
        renewed = self._renewed.get(key)
        if renewed is not None and now < renewed + self.duration / 3 and self.holders.get(key) == self.identity:
            return self.identity, None
        error: BackendError | None = None
        try:
            lease = await self.cluster.acquire_lease(target.namespace, lease_name(target), self.identity, self.duration)
            self.cache.apply(lease)
            self._renewed[key] = now
            holder = self.identity
        except LeaseHeld as err:
            holder = err.holder
            self._renewed.pop(key, None)
        except Conflict:
            cached = self.cache.lease(target.namespace, lease_name(target))
            holder = cached.holder if cached and cached.holder != self.identity else ""
            self._renewed.pop(key, None)
        except BackendError as err:
            error = err
            holder = self.holders.get(key, "")
            if holder == self.identity and (renewed is None or now >= renewed + self.duration):
                holder = ""  # our lease ran out while the cluster was away: someone else may drive
        self.holders[key] = holder
        return holder, error

    async def claim(self, target: Target) -> None:
        """Before a write for the target: take its Lease (a no-op while this room holds it fresh).
        Raise `HandsOff` naming the other room that holds it, or the error met taking it."""
        holder, err = await self.settle(target, self.clock.now())
        if holder == self.identity:
            return
        if err is not None:
            raise err
        if holder:
            raise HandsOff("cluster", f"{target.key} is driven by {holder}; this room is hands-off")
        raise HandsOff("cluster", f"another room took the lease of {target.key} first; this room is hands-off")

    def watch_only(self, key: str) -> None:
        self.holders[key] = ""

    async def release(self, target: Target) -> None:
        async with self._locks[target.key]:
            await self._release(target)

    async def _release(self, target: Target) -> None:
        try:
            await self.cluster.release_lease(target.namespace, lease_name(target), self.identity)
        except BackendError:
            return  # it runs out by itself within its duration
        self.holders[target.key] = ""
        self._renewed.pop(target.key, None)

    async def release_all(self, targets: list[Target]) -> None:
        for target in targets:
            if self.holders.get(target.key) == self.identity:
                await self.release(target)
