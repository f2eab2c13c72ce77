"""What the room needs from a cluster to drive a Flagger Canary or an Argo Rollout.

The same shape as `backends.base.ObjectWrites` (branch `kube`) with two additions the
upstream CLIs need: `patch` may be `bytes`, sent as they are (the patches must match
the CLIs' byte for byte), and `subresource="status"` (Argo's CLI patches the status
subresource first). `EventWrites` is optional: a cluster that can record an
`events.k8s.io/v1` Event on any object.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from backends.base import ForeignObject


@runtime_checkable
class ObjectWrites(Protocol):
    async def patch_object(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Any,
        patch_type: Literal["merge", "json", "strategic"],
        resource_version: str | None = None,
        subresource: str = "",
    ) -> ForeignObject:
        """PATCH the object (or its `subresource`); `bytes` are the body as it is. NotFound when absent."""
        ...

    async def proxy(
        self,
        namespace: str,
        kind: Literal["pods", "services"],
        name: str,
        port: int | str,
        path: str,
        method: str = "GET",
        body: Any = None,
    ) -> tuple[int, str]:
        """(HTTP status, body text) of a request through `<kind>/<name>:<port>/proxy/<path>`."""
        ...


@runtime_checkable
class EventWrites(Protocol):
    async def record_object_event(
        self, api_version: str, kind: str, namespace: str, name: str, action: str, note: str, warning: bool = False
    ) -> None:
        """An `events.k8s.io/v1` Event regarding the object (reporting controller `shiftroom.io/room`)."""
        ...
