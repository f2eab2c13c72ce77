"""API objects (dicts, as the API server sends them) → `backends.base` models.

Every converter tolerates any malformed field: a bad object raises `Invalid`
with one sentence naming it, and `invalid_marker` turns that into a
`ForeignObject` of kind "Invalid" so one bad object never hides the others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backends.base import Deployment, ForeignObject, Invalid, Lease, Revision, Service
from backends.kubernetes.errors import NAME

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
#: The label Argo Rollouts puts on the ReplicaSets of a Rollout (the watch's label selector: exists).
ROLLOUT_HASH_LABEL = "rollouts-pod-template-hash"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strmap(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in _dict(value).items() if v is not None}


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def meta(obj: Any) -> tuple[str, str, str]:
    """(namespace, name, resourceVersion); `Invalid` when the object has no name."""
    md = _dict(_dict(obj).get("metadata"))
    name = md.get("name")
    if not isinstance(name, str) or not name:
        raise Invalid(NAME, "An object without metadata.name came from the API server; it is ignored.")
    return str(md.get("namespace") or ""), name, str(md.get("resourceVersion") or "")


def key_of(obj: Any) -> str:
    md = _dict(_dict(obj).get("metadata"))
    return f"{md.get('namespace') or ''}/{md.get('name') or '?'}"


def parse_time(value: Any) -> float:
    """RFC 3339 (with or without fractions) → epoch seconds; 0.0 when absent or malformed."""
    if not isinstance(value, str) or not value:
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def containers(template: Any) -> list[dict[str, Any]]:
    spec = _dict(_dict(template).get("spec"))
    items = spec.get("containers")
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def ready_replicas(obj: dict[str, Any]) -> int:
    """Replicas that count as ready for a rollout, as `kubectl rollout status` judges it:
    nothing until the controller observed the latest generation, then the updated replicas that
    are available, less any old replica still running."""
    md, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    if _int(status.get("observedGeneration"), -1) < _int(md.get("generation"), 0):
        return 0
    updated = _int(status.get("updatedReplicas"))
    available = _int(status.get("availableReplicas"))
    ready = min(updated, available)
    want = _int(spec.get("replicas"), 1)
    if _int(status.get("replicas")) > updated:  # old pods still terminating: not done yet
        ready = min(ready, max(0, want - 1))
    return ready


def progress_failed(obj: dict[str, Any]) -> str:
    """The `Progressing` condition's message when its reason is ProgressDeadlineExceeded, else ""."""
    for cond in _dict(obj.get("status")).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Progressing":
            if cond.get("reason") == "ProgressDeadlineExceeded":
                return str(cond.get("message") or "progress deadline exceeded")
    return ""


def deployment(obj: Any) -> Deployment:
    ns, name, rv = meta(obj)
    md, spec = _dict(obj.get("metadata")), _dict(obj.get("spec"))
    found = containers(spec.get("template"))
    if not found or not isinstance(found[0].get("image"), str):
        raise Invalid(NAME, f"Deployment {ns}/{name} has no container with an image in spec.template.")
    try:
        return Deployment(
            name=name,
            namespace=ns,
            image=found[0]["image"],
            container=str(found[0].get("name") or "app"),
            replicas=_int(spec.get("replicas"), 1),
            ready_replicas=ready_replicas(obj),
            revision=_int(_dict(md.get("annotations")).get(REVISION), 1),
            labels=_strmap(md.get("labels")),
            annotations=_strmap(md.get("annotations")),
            resource_version=rv,
        )
    except ValueError as exc:
        raise Invalid(NAME, f"Deployment {ns}/{name} is malformed: {str(exc).splitlines()[0]}.") from None


def image_of(obj: Any, container: str) -> str:
    """The image of `container` in a Deployment (or the first container's)."""
    found = containers(_dict(_dict(obj).get("spec")).get("template"))
    for c in found:
        if c.get("name") == container:
            return str(c.get("image") or "")
    return str(found[0].get("image") or "") if found else ""


def service(obj: Any) -> Service:
    ns, name, rv = meta(obj)
    md, spec = _dict(obj.get("metadata")), _dict(obj.get("spec"))
    return Service(
        name=name,
        namespace=ns,
        selector=_strmap(spec.get("selector")),
        annotations=_strmap(md.get("annotations")),
        resource_version=rv,
    )


def lease(obj: Any) -> Lease:
    ns, name, rv = meta(obj)
    spec = _dict(obj.get("spec"))
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    return Lease(
        name=name,
        namespace=ns,
        holder=str(spec.get("holderIdentity") or ""),
        renewed=renewed,
        duration=float(_int(spec.get("leaseDurationSeconds"), 15)),
        resource_version=rv,
    )


def owner(obj: Any, kind: str = "Deployment") -> str:
    for ref in _dict(_dict(obj).get("metadata")).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("kind") == kind and ref.get("controller", True):
            return str(ref.get("name") or "")
    return ""


def revision(rs: Any) -> Revision:
    ns, name, _ = meta(rs)
    md = _dict(rs.get("metadata"))
    found = containers(_dict(rs.get("spec")).get("template"))
    rev = _int(_dict(md.get("annotations")).get(REVISION))
    return Revision(
        deployment=owner(rs) or name,
        namespace=ns,
        revision=rev,
        image=str(found[0].get("image") or "") if found else "",
        created=parse_time(md.get("creationTimestamp")),
    )


def foreign(obj: Any) -> ForeignObject:
    ns, name, rv = meta(obj)
    return ForeignObject(
        api_version=str(obj.get("apiVersion") or ""),
        kind=str(obj.get("kind") or ""),
        name=name,
        namespace=ns,
        body=obj,
        resource_version=rv,
    )


def rollout_replica_set(obj: Any) -> ForeignObject | None:
    """A ReplicaSet an Argo Rollout owns (an ownerReference of kind Rollout in argoproj.io), as a
    `ForeignObject` beside the Rollouts; None for every other ReplicaSet (a Deployment's: not delivered)."""
    for ref in _dict(_dict(obj).get("metadata")).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("kind") == "Rollout":
            if str(ref.get("apiVersion") or "").startswith("argoproj.io/"):
                return foreign(obj)
    return None


def invalid_marker(obj: Any, err: Invalid, kind: str = "") -> ForeignObject:
    """A malformed object as a marker the room can show: kind "Invalid", the sentence in the body."""
    md = _dict(_dict(obj).get("metadata"))
    return ForeignObject(
        api_version=str(_dict(obj).get("apiVersion") or ""),
        kind="Invalid",
        name=str(md.get("name") or "?"),
        namespace=str(md.get("namespace") or ""),
        body={"kind": kind or str(_dict(obj).get("kind") or ""), "error": err.sentence},
        resource_version=str(md.get("resourceVersion") or "0"),
    )
