"""`events.k8s.io/v1` Events as `ClusterEvent`s: only those about the kinds of object a target is made of.

Read defensively: an Event that names no object it is about raises `Invalid` (the informer keeps one
marker for it); one whose other fields are malformed becomes a single Warning "Invalid" row on its
object, saying what was wrong — neither hides any other Event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backends.base import ClusterEvent, Invalid
from backends.kubernetes.errors import NAME
from backends.kubernetes.objects import _dict, parse_time

#: (API group, kind) of the objects targets are made of: Deployments, their ReplicaSets, Services, the
#: routers, Flagger Canaries and Argo Rollouts. Events about anything else (Pods, Leases...) are not kept.
KINDS = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("", "Service"),
        ("networking.k8s.io", "Ingress"),
        ("networking.istio.io", "VirtualService"),
        ("gateway.networking.k8s.io", "HTTPRoute"),
        ("split.smi-spec.io", "TrafficSplit"),
        ("flagger.app", "Canary"),
        ("argoproj.io", "Rollout"),
    }
)
ROUTER_KINDS = frozenset({"Ingress", "VirtualService", "HTTPRoute", "TrafficSplit"})
NOTE_LIMIT = 1024  # the API server's limit on `note`, in bytes; a server that allows more is cut here
TEXT_LIMIT = 128  # reason, reportingController


def selected_kinds(routers: Iterable[str]) -> list[str]:
    """The kinds whose Events a room over every namespace watches, one `regarding.kind=<Kind>` field selector
    each (a field selector cannot say "one of"): every kind in `KINDS` but the routers no target uses."""
    return sorted({k for _, k in KINDS if k not in ROUTER_KINDS} | (set(routers) & ROUTER_KINDS))


def _text(value: Any, field: str, problems: list[str], limit: int = TEXT_LIMIT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(f"its {field} is not a string")
        return ""
    return value[:limit]


def _count(event: dict[str, Any], problems: list[str]) -> int:
    series = event.get("series")
    raw = _dict(series).get("count") if series is not None else event.get("deprecatedCount")
    if raw is None:
        return 1
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        problems.append("its count is not a number")
        return 1
    return max(1, raw)


def event(obj: dict[str, Any]) -> ClusterEvent | None:
    """The Event, or None when it is about an object of no kind a target is made of."""
    md = _dict(obj.get("metadata"))
    name, namespace = str(md.get("name") or ""), str(md.get("namespace") or "")
    reg = obj.get("regarding")
    kind = _dict(reg).get("kind")
    about = _dict(reg).get("name")
    if not isinstance(kind, str) or not kind or not isinstance(about, str) or not about:
        raise Invalid(NAME, f"Event {namespace}/{name or '?'} does not say which object it is about (regarding).")
    api_version = _dict(reg).get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    if (group, kind) not in KINDS:
        return None
    problems: list[str] = []
    type_ = obj.get("type")
    if type_ not in ("Normal", "Warning"):
        problems.append(f"its type is {str(type_)[:20]!r}, neither Normal nor Warning")
    reason = _text(obj.get("reason"), "reason", problems)
    note = _text(obj.get("note"), "note", problems, NOTE_LIMIT)
    controller = _text(obj.get("reportingController"), "reportingController", problems)
    if not controller:
        controller = _text(_dict(obj.get("deprecatedSource")).get("component"), "source", problems)
    count = _count(obj, problems)
    first = parse_time(obj.get("eventTime")) or parse_time(obj.get("deprecatedFirstTimestamp"))
    last = (
        parse_time(_dict(obj.get("series")).get("lastObservedTime"))
        or parse_time(obj.get("deprecatedLastTimestamp"))
        or first
        or parse_time(md.get("creationTimestamp"))
    )
    ns = namespace or str(_dict(reg).get("namespace") or "")
    common: dict[str, Any] = {
        "t": last,
        "namespace": ns,
        "object": f"{kind[:63]}/{about[:253]}",
        "name": name,
        "group": group,
        "controller": controller,
        "resource_version": str(md.get("resourceVersion") or ""),
    }
    if problems:
        sentence = f"Event {name or '?'} could not be read: {problems[0]}."
        return ClusterEvent(**common, reason="Invalid", message=sentence, type="Warning")
    return ClusterEvent(
        **common,
        reason=reason,
        message=note,
        type="Warning" if type_ == "Warning" else "Normal",
        count=count,
        first=first if count > 1 else 0.0,
    )
