"""Cluster writes for the controllers: each returned object lands in the cache at once.

So a pass never reads back what it just wrote; the watch event that follows
carries the same (or a newer) resource version and changes nothing more.
A target's writes are given its `claim`: the Lease is taken before the first one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from app.control.cache import ObjectCache
from backends.base import Cluster, Deployment, Kind, Route, Service

Claim = Callable[[], Awaitable[None]]


class ClusterWrites:
    def __init__(self, cluster: Cluster, cache: ObjectCache, claim: Claim | None = None) -> None:
        self.cluster = cluster
        self.cache = cache
        self.claim = claim

    async def _claim(self) -> None:
        if self.claim is not None:
            await self.claim()

    async def set_image(self, namespace: str, name: str, container: str, image: str) -> Deployment:
        await self._claim()
        dep = await self.cluster.set_image(namespace, name, container, image)
        self.cache.apply(dep)
        return dep

    async def scale(self, namespace: str, name: str, replicas: int) -> Deployment:
        await self._claim()
        dep = await self.cluster.scale(namespace, name, replicas)
        self.cache.apply(dep)
        return dep

    async def rollout_undo(self, namespace: str, name: str) -> Deployment:
        await self._claim()
        dep = await self.cluster.rollout_undo(namespace, name)
        self.cache.apply(dep)
        return dep

    async def patch_selector(self, namespace: str, name: str, selector: Mapping[str, str]) -> Service:
        await self._claim()
        svc = await self.cluster.patch_selector(namespace, name, selector)
        self.cache.apply(svc)
        return svc

    async def set_weights(self, namespace: str, name: str, weights: Mapping[str, int]) -> Route:
        await self._claim()
        route = await self.cluster.set_weights(namespace, name, weights)
        self.cache.apply(route)
        return route

    async def patch_annotations(
        self, kind: Kind, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> None:
        await self._claim()
        await self.cluster.patch_annotations(kind, namespace, name, annotations)
        self.cache.annotate(kind, namespace, name, annotations)

    async def probe(self, namespace: str, deployment: str) -> tuple[bool, str]:
        """An exec into a pod: not a read of the API's objects."""
        return await self.cluster.probe(namespace, deployment)
