"""Who drives each target: one Lease per target, taken and renewed by the room that drives it.

Renewals are writes (a third of the lease's duration apart, not every pass);
who else holds a lease is read from the cached Lease objects, never fetched.
"""

from __future__ import annotations

from app.control.cache import ObjectCache
from app.model import Target
from backends.base import BackendError, Cluster, Conflict


def lease_name(target: Target) -> str:
    return f"shiftroom-{target.name}"


class LeaseKeeper:
    def __init__(self, cluster: Cluster, cache: ObjectCache, identity: str, duration: float) -> None:
        self.cluster = cluster
        self.cache = cache
        self.identity = identity
        self.duration = duration
        self.holders: dict[str, str] = {}  # target key -> holder ("" = nobody / unknown)
        self._renewed: dict[str, float] = {}  # target key -> when this room last renewed its lease

    def holder(self, key: str) -> str:
        return self.holders.get(key, "")

    async def settle(self, target: Target, now: float) -> tuple[str, BackendError | None]:
        """Take or renew the lease when due; (the holder now, the error met on the way)."""
        key = target.key
        renewed = self._renewed.get(key)
        if renewed is not None and now < renewed + self.duration / 3 and self.holders.get(key) == self.identity:
            return self.identity, None
        error: BackendError | None = None
        try:
            lease = await self.cluster.acquire_lease(target.namespace, lease_name(target), self.identity, self.duration)
            self.cache.apply(lease)
            self._renewed[key] = now
            holder = self.identity
        except Conflict:
            cached = self.cache.lease(target.namespace, lease_name(target))
            holder = cached.holder if cached else self.holders.get(key, "")
            self._renewed.pop(key, None)
        except BackendError as err:
            error = err
            holder = self.holders.get(key, "")
            if holder == self.identity and (renewed is None or now >= renewed + self.duration):
                holder = ""  # our lease ran out while the cluster was away: someone else may drive
        self.holders[key] = holder
        return holder, error

    def watch_only(self, key: str) -> None:
        self.holders[key] = ""

    async def release_all(self, targets: list[Target]) -> None:
        for target in targets:
            if self.holders.get(target.key) != self.identity:
                continue
            try:
                await self.cluster.release_lease(target.namespace, lease_name(target), self.identity)
            except BackendError:
                continue  # it runs out by itself within its duration
            self.holders[target.key] = ""
            self._renewed.pop(target.key, None)
