"""Writes with optimistic concurrency.

- a patch computed from what was read carries that resourceVersion, so the API
  server refuses it (409) if the object changed meanwhile;
- on 409 the object is read again and, if the intent still applies, the write is
  recomputed and sent once more; a second 409 (or an intent that no longer
  applies) is one `Conflict` sentence;
- replicas go through the `scale` subresource; an image change is a strategic
  merge patch (containers merge by name); maps are merge patches; the revision
  a rollback writes is a JSON patch (see undo.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar

from backends.base import Conflict
from backends.kubernetes.client import Api
from backends.kubernetes.errors import What
from backends.kubernetes.objects import _dict
from backends.kubernetes.resources import DEPLOYMENTS, SERVICES, Res

T = TypeVar("T")
PatchType = Literal["merge", "json", "strategic"]


async def get(api: Api, res: Res, namespace: str, name: str, sub: str | None = None) -> dict[str, Any]:
    body = await api.call("GET", res.path(namespace, name, sub), What("get", res, namespace, name, sub or ""))
    return body if isinstance(body, dict) else {}


async def patch(
    api: Api, res: Res, namespace: str, name: str, body: Any, patch_type: PatchType = "merge", sub: str | None = None
) -> dict[str, Any]:
    what = What("patch", res, namespace, name, sub or "")
    out = await api.call("PATCH", res.path(namespace, name, sub), what, body=body, patch=patch_type)
    return out if isinstance(out, dict) else {}


async def retry_once(attempt: Callable[[bool], Awaitable[T]]) -> T:
    """Run `attempt(retry=False)`; on a 409 run `attempt(retry=True)` (which re-reads) once more."""
    try:
        return await attempt(False)
    except Conflict:
        return await attempt(True)


def with_rv(body: dict[str, Any], rv: str | None) -> dict[str, Any]:
    """A merge patch carrying `metadata.resourceVersion` as a precondition."""
    if rv:
        body = {**body, "metadata": {**_dict(body.get("metadata")), "resourceVersion": str(rv)}}
    return body


async def set_image(api: Api, namespace: str, name: str, container: str, image: str) -> dict[str, Any]:
    """`kubectl set image`: a strategic merge patch of one container's image (no precondition: the
    last image asked for is the one wanted)."""
    current = await get(api, DEPLOYMENTS, namespace, name)
    names = [
        c.get("name")
        for c in _dict(_dict(_dict(current.get("spec")).get("template")).get("spec")).get("containers") or []
        if isinstance(c, dict)
    ]
    if container not in names and names:
        container = str(names[0])
    body = {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}
    return await patch(api, DEPLOYMENTS, namespace, name, body, "strategic")


async def scale(api: Api, namespace: str, name: str, replicas: int) -> dict[str, Any]:
    """`kubectl scale`: a merge patch of the scale subresource."""
    return await patch(api, DEPLOYMENTS, namespace, name, {"spec": {"replicas": int(replicas)}}, "merge", "scale")


async def patch_selector(
    api: Api, namespace: str, name: str, selector: Mapping[str, str], resource_version: str | None
) -> dict[str, Any]:
    """Make the Service select exactly `selector`. With a caller's resourceVersion a 409 is the
    caller's to handle; without one the patch carries the version it was computed from and is
    retried once on 409 (the desired selector is absolute, so the intent still applies)."""

    async def attempt(retry: bool) -> dict[str, Any]:
        current = await get(api, SERVICES, namespace, name)
        if resource_version and not retry:
            rv = resource_version
        else:
            rv = str(_dict(current.get("metadata")).get("resourceVersion") or "")
        old = _dict(_dict(current.get("spec")).get("selector"))
        sel: dict[str, Any] = {k: None for k in old if k not in selector}
        sel.update({k: str(v) for k, v in selector.items()})
        return await patch(api, SERVICES, namespace, name, with_rv({"spec": {"selector": sel}}, rv))

    if resource_version:
        return await attempt(False)
    return await retry_once(attempt)


async def patch_annotations(
    api: Api, res: Res, namespace: str, name: str, annotations: Mapping[str, str | None], resource_version: str | None
) -> dict[str, Any]:
    """A merge patch of annotations (None removes one); the caller's resourceVersion, if given,
    is the precondition (controller state computed from an older read must not win)."""
    body = with_rv({"metadata": {"annotations": dict(annotations)}}, resource_version)
    return await patch(api, res, namespace, name, body)


def patch_body(patch_type: PatchType, body: Any, resource_version: str | None) -> Any:
    """A patch of any type carrying the resourceVersion precondition when one is given."""
    if not resource_version:
        return body
    if patch_type == "json":
        return [{"op": "replace", "path": "/metadata/resourceVersion", "value": str(resource_version)}, *list(body)]
    return with_rv(dict(body), resource_version)
