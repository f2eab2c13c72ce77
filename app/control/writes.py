"""Cluster writes for the controllers: each returned object lands in the cache at once.

So a pass never reads back what it just wrote; the watch event that follows
carries the same (or a newer) resource version and changes nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.control.cache import ObjectCache
from backends.base import Cluster, Deployment, Kind, Route, Service


class ClusterWrites:
    def __init__(self, cluster: Cluster, cache: ObjectCache) -> None:
        self.cluster = cluster
        self.cache = cache

    async def set_image(self, namespace: str, name: str, container: str, image: str) -> Deployment:
        dep = await self.cluster.set_image(namespace, name, container, image)
        self.cache.apply(dep)
        return dep

    async def scale(self, namespace: str, name: str, replicas: int) -> Deployment:
        dep = await self.cluster.scale(namespace, name, replicas)
        self.cache.apply(dep)
        return dep

    async def rollout_undo(self, namespace: str, name: str) -> Deployment:
        dep = await self.cluster.rollout_undo(namespace, name)
        self.cache.apply(dep)
        return dep

    async def patch_selector(self, namespace: str, name: str, selector: Mapping[str, str]) -> Service:
        svc = await self.cluster.patch_selector(namespace, name, selector)
        self.cache.apply(svc)
        return svc

    async def set_weights(self, namespace: str, name: str, weights: Mapping[str, int]) -> Route:
        route = await self.cluster.set_weights(namespace, name, weights)
        self.cache.apply(route)
        return route

    async def patch_annotations(
        self, kind: Kind, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> None:
        await self.cluster.patch_annotations(kind, namespace, name, annotations)
        self.cache.annotate(kind, namespace, name, annotations)

    async def probe(self, namespace: str, deployment: str) -> tuple[bool, str]:
        """An exec into a pod: not a read of the API's objects."""
        return await self.cluster.probe(namespace, deployment)
