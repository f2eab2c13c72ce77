"""The `Cluster` protocol on a real Kubernetes API server, through kubernetes-asyncio.

`kubernetes_asyncio` is imported only inside this package (and only when a
`KubeCluster` is built), never when the CLI starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backends.kubernetes.cluster import KubeCluster

__all__ = ["KubeCluster"]


def __getattr__(name: str) -> Any:
    if name == "KubeCluster":
        from backends.kubernetes.cluster import KubeCluster

        return KubeCluster
    raise AttributeError(name)
