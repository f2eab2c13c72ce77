"""Decisions as `events.k8s.io/v1` Events on the object, as Flagger records its own, so
`kubectl describe` tells the same story as the room."""

from __future__ import annotations

import re
import time
from typing import Any

from backends.base import ClusterEvent
from backends.kubernetes.client import Api
from backends.kubernetes.errors import What
from backends.kubernetes.leases import micro_time
from backends.kubernetes.objects import _dict, parse_time
from backends.kubernetes.resources import EVENTS, Res

CONTROLLER = "shiftroom.io/room"


def reason_of(action: str) -> str:
    """`rollback` → `Rollback`, `switch-back` → `SwitchBack` (Event reasons are UpperCamelCase)."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", action) if p)[:128] or "Decision"


def _bounded(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8 (the API server counts bytes), cut at a character boundary."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def event_name(name: str, now_ns: int | None = None) -> str:
    """`<object>.<nanoseconds in hex>`, as client-go's event recorder names Events. (A `generateName`
    of `<object>.` is refused by the API server: a generateName may end in `-`, never in `.`.)"""
    suffix = f".{time.time_ns() if now_ns is None else now_ns:x}"
    return name[: 253 - len(suffix)] + suffix


def event_body(
    res: Res, namespace: str, name: str, action: str, note: str, warning: bool, instance: str, uid: str = ""
) -> dict[str, Any]:
    regarding = {"apiVersion": res.api_version, "kind": res.kind, "name": name, "namespace": namespace}
    if uid:
        regarding["uid"] = uid
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": event_name(name), "namespace": namespace},
        "eventTime": micro_time(time.time()),
        "reportingController": CONTROLLER,
        "reportingInstance": _bounded(instance, 128) or "shiftroom",
        "action": reason_of(action),
        "reason": reason_of(action),
        "regarding": regarding,
        "note": _bounded(note, 1024),
        "type": "Warning" if warning else "Normal",
    }


async def record(
    api: Api, res: Res, namespace: str, name: str, action: str, note: str, *, warning: bool = False, instance: str = ""
) -> None:
    body = event_body(res, namespace, name, action, note, warning, instance)
    await api.call("POST", EVENTS.path(namespace), What("create", EVENTS, namespace), body=body)


async def list_events(api: Api, namespace: str | None, since: float) -> list[ClusterEvent]:
    body = await api.call("GET", EVENTS.path(namespace), What("list", EVENTS, namespace))
    out = []
    for e in body.get("items") or []:
        e = _dict(e)
        t = (
            parse_time(e.get("eventTime"))
            or parse_time(e.get("deprecatedLastTimestamp"))
            or parse_time(_dict(e.get("metadata")).get("creationTimestamp"))
        )
        if t <= since:
            continue
        reg = _dict(e.get("regarding"))
        out.append(
            ClusterEvent(
                t=t,
                namespace=str(_dict(e.get("metadata")).get("namespace") or ""),
                object=f"{reg.get('kind', '')}/{reg.get('name', '')}",
                reason=str(e.get("reason") or ""),
                message=str(e.get("note") or ""),
                type="Warning" if e.get("type") == "Warning" else "Normal",
            )
        )
    return sorted(out, key=lambda e: e.t)
