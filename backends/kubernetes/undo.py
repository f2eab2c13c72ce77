"""`kubectl rollout undo`, step for step (kubectl's DeploymentRollbacker):

1. a paused Deployment is not rolled back;
2. the ReplicaSets the Deployment controls (its selector, its controller reference);
3. the revision to go to: `to_revision`, else the highest revision below the current one
   (`deployment.kubernetes.io/revision` of each ReplicaSet);
4. nothing to do when that template already equals the Deployment's (ignoring
   `pod-template-hash`);
5. a JSON patch replacing `/spec/template` with the ReplicaSet's template minus the
   `pod-template-hash` label, and `/metadata/annotations` with the ReplicaSet's
   annotations plus the Deployment's own bookkeeping ones kubectl keeps.

One deliberate addition: the Deployment's `shiftroom.io/*` annotations (controller
state) are kept too, so an undo never rewinds a controller's state.
"""

from __future__ import annotations

import copy
from typing import Any

from backends.base import Invalid, NotFound
from backends.kubernetes.client import Api
from backends.kubernetes.errors import NAME, What
from backends.kubernetes.objects import HASH_LABEL, REVISION, _dict, _int
from backends.kubernetes.resources import DEPLOYMENTS, REPLICASETS
from backends.kubernetes.writes import get, patch

#: Annotations kubectl takes from the Deployment, not from the ReplicaSet.
SKIP = (
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
)
KEEP_PREFIX = "shiftroom.io/"


async def owned_replicasets(api: Api, namespace: str, dep: dict[str, Any]) -> list[dict[str, Any]]:
    md, spec = _dict(dep.get("metadata")), _dict(dep.get("spec"))
    labels = _dict(_dict(spec.get("selector")).get("matchLabels"))
    query = [("labelSelector", ",".join(f"{k}={v}" for k, v in sorted(labels.items())))] if labels else []
    body = await api.call("GET", REPLICASETS.path(namespace), What("list", REPLICASETS, namespace), query=query)
    uid = md.get("uid")
    out = []
    for rs in body.get("items") or []:
        refs = _dict(rs.get("metadata")).get("ownerReferences") or []
        if any(
            isinstance(r, dict)
            and r.get("controller")
            and r.get("kind") == "Deployment"
            and (r.get("uid") == uid if uid else r.get("name") == md.get("name"))
            for r in refs
        ):
            out.append(rs)
    return out


def _revision(rs: dict[str, Any]) -> int:
    return _int(_dict(_dict(rs.get("metadata")).get("annotations")).get(REVISION))


def pick(replicasets: list[dict[str, Any]], to_revision: int | None) -> dict[str, Any] | None:
    if to_revision:
        return next((rs for rs in replicasets if _revision(rs) == to_revision), None)
    revs = sorted({_revision(rs) for rs in replicasets}, reverse=True)
    if len(revs) < 2:
        return None
    return next(rs for rs in replicasets if _revision(rs) == revs[1])


def without_hash(template: Any) -> dict[str, Any]:
    t = copy.deepcopy(_dict(template))
    labels = _dict(_dict(t.get("metadata")).get("labels"))
    labels.pop(HASH_LABEL, None)
    return t


def undo_patch(dep: dict[str, Any], rs: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON patch kubectl sends, plus Shiftroom's own annotations kept."""
    dep_ann = _dict(_dict(dep.get("metadata")).get("annotations"))
    annotations = {k: v for k, v in dep_ann.items() if k in SKIP or k.startswith(KEEP_PREFIX)}
    for k, v in _dict(_dict(rs.get("metadata")).get("annotations")).items():
        if k not in SKIP and not k.startswith(KEEP_PREFIX):
            annotations[k] = v
    template = without_hash(_dict(rs.get("spec")).get("template"))
    return [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]


async def rollout_undo(api: Api, namespace: str, name: str, to_revision: int | None = None) -> dict[str, Any]:
    dep = await get(api, DEPLOYMENTS, namespace, name)
    key = f"{namespace}/{name}"
    if _dict(dep.get("spec")).get("paused"):
        raise Invalid(NAME, f"Deployment {key} is paused; resume it before rolling back (as kubectl requires).")
    rs = pick(await owned_replicasets(api, namespace, dep), to_revision)
    if rs is None:
        which = f"revision {to_revision}" if to_revision else "a previous revision"
        raise NotFound(NAME, f"Deployment {key} has no {which} to roll back to (no rollout history found).")
    if without_hash(_dict(rs.get("spec")).get("template")) == without_hash(_dict(dep.get("spec")).get("template")):
        return dep  # kubectl: "skipped rollback (current template already matches revision N)"
    rv = str(_dict(dep.get("metadata")).get("resourceVersion") or "")
    ops = undo_patch(dep, rs)
    if rv:  # computed from this read: refuse it (409) if the Deployment changed meanwhile
        ops.insert(0, {"op": "replace", "path": "/metadata/resourceVersion", "value": rv})
    return await patch(api, DEPLOYMENTS, namespace, name, ops, "json")
