"""Which API groups and CRDs the cluster serves (discovery needs no RBAC), and who we are."""

from __future__ import annotations

from typing import Any

from backends.base import BackendError, NotFound
from backends.kubernetes.client import Api
from backends.kubernetes.errors import What
from backends.kubernetes.objects import _dict
from backends.kubernetes.resources import Res

SELF_REVIEW = Res("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", namespaced=False)
ACCESS_REVIEW = Res(
    "authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", namespaced=False
)
VERSION = Res("", "", "version", "Version", namespaced=False)


async def served(api: Api, res: Res, cache: dict[str, bool] | None = None) -> bool:
    """Whether the API server serves `res` (its CRD is installed)."""
    key = f"{res.api_version}/{res.plural}"
    if cache is not None and key in cache:
        return cache[key]
    try:
        body = await api.call("GET", res.base, What("get", res))
        found = any(_dict(r).get("name") == res.plural for r in body.get("resources") or [])
    except NotFound:
        found = False
    if cache is not None:
        cache[key] = found
    return found


async def whoami(api: Api) -> str:
    """The username the API server sees (SelfSubjectReview); "" when the server cannot say."""
    body = {"apiVersion": SELF_REVIEW.api_version, "kind": SELF_REVIEW.kind, "metadata": {}}
    try:
        out = await api.call("POST", SELF_REVIEW.path(), What("create", SELF_REVIEW), body=body)
    except BackendError:
        return ""
    return str(_dict(_dict(_dict(out).get("status")).get("userInfo")).get("username") or "")


async def version(api: Api) -> dict[str, Any]:
    out = await api.call("GET", "/version", What("get", VERSION))
    return out if isinstance(out, dict) else {}


async def can_i(api: Api, verb: str, res: Res, namespace: str | None, sub: str = "") -> tuple[bool, str]:
    """One SelfSubjectAccessReview: (allowed, the authorizer's reason)."""
    attrs: dict[str, Any] = {"verb": verb, "group": res.group, "resource": res.plural}
    if sub:
        attrs["subresource"] = sub
    if namespace:
        attrs["namespace"] = namespace
    body = {"apiVersion": ACCESS_REVIEW.api_version, "kind": ACCESS_REVIEW.kind, "spec": {"resourceAttributes": attrs}}
    out = await api.call("POST", ACCESS_REVIEW.path(), What("create", ACCESS_REVIEW), body=body)
    status = _dict(_dict(out).get("status"))
    return bool(status.get("allowed")), str(status.get("reason") or status.get("evaluationError") or "")
