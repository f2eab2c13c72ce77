"""One `coordination.k8s.io/v1` Lease per target: exactly one room drives it.

Acquire = create the Lease, or update it (with its resourceVersion, so two
rooms racing for an expired Lease cannot both win: the second gets 409) when it
is ours or expired. Renew = the same update. Release = clear the holder, again
with the resourceVersion. Times are the API's MicroTime, compared with this
machine's wall clock.

`held` (optional, one dict per cluster connection) remembers the last version of each Lease this
room saw: what its own writes returned, and what the watch of Leases delivered (`seen`). Taking a
Lease that was free, run out or ours when last seen, renewing it, or releasing it, is then one
PUT with that resourceVersion and no GET first; a 409 means someone else wrote it since, so it
is read again and judged as above (`LeaseHeld` names the room that holds it).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from backends.base import Conflict, Lease, LeaseHeld, NotFound
from backends.kubernetes import objects
from backends.kubernetes.client import Api
from backends.kubernetes.errors import NAME, What
from backends.kubernetes.objects import _dict
from backends.kubernetes.resources import LEASES
from backends.kubernetes.writes import get

MANAGED = {"app.kubernetes.io/managed-by": "shiftroom"}
SELECTOR = "app.kubernetes.io/managed-by=shiftroom"


def micro_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def get_lease(api: Api, namespace: str, name: str) -> Lease | None:
    try:
        return objects.lease(await get(api, LEASES, namespace, name))
    except NotFound:
        return None


def seen(held: dict[str, Any], obj: dict[str, Any]) -> None:
    """Remember a Lease the watch delivered, unless this room already holds a newer one."""
    md = _dict(obj.get("metadata"))
    key = f"{md.get('namespace') or ''}/{md.get('name') or ''}"
    old = held.get(key)
    if old is None or not _older(str(md.get("resourceVersion") or ""), old):
        held[key] = obj


def _older(rv: str, old: dict[str, Any]) -> bool:
    was = str(_dict(old.get("metadata")).get("resourceVersion") or "")
    return rv.isdigit() and was.isdigit() and int(rv) < int(was)


def _taken(old: dict[str, Any], spec: dict[str, Any], holder: str, now: float) -> dict[str, Any]:
    """The spec of a Lease `holder` takes (or renews) over `old`."""
    if str(old.get("holderIdentity") or "") != holder:
        spec = {**spec, "acquireTime": micro_time(now), "leaseTransitions": int(old.get("leaseTransitions") or 0) + 1}
    return {**old, **spec}


async def acquire(
    api: Api, namespace: str, name: str, holder: str, duration: float, held: dict[str, Any] | None = None
) -> Lease:
    now = time.time()
    spec = {"holderIdentity": holder, "leaseDurationSeconds": max(1, round(duration)), "renewTime": micro_time(now)}
    memo = {} if held is None else held
    key = f"{namespace}/{name}"
    last = memo.pop(key, None)
    if last is not None and not objects.lease(last).held_by_other(holder, now):
        try:  # ours, free or run out when last seen: one PUT with its resourceVersion, no GET
            out = await _update(api, last, _taken(_dict(last.get("spec")), spec, holder, now))
            memo[key] = out
            return objects.lease(out)
        except (Conflict, NotFound):
            pass  # written (or deleted) by someone else since: read it and judge below
    try:
        current = await get(api, LEASES, namespace, name)
    except NotFound:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace, "labels": MANAGED},
            "spec": {**spec, "acquireTime": micro_time(now), "leaseTransitions": 0},
        }
        try:
            created = await api.call("POST", LEASES.path(namespace), What("create", LEASES, namespace, name), body=body)
        except Conflict:  # 409 AlreadyExists: another room created it first
            raise Conflict(NAME, f"Lease {namespace}/{name} was just taken by another room.") from None
        memo[key] = created
        return objects.lease(created)
    memo[key] = current
    lease = objects.lease(current)
    if lease.held_by_other(holder, now):
        left = lease.renewed + lease.duration - now
        sentence = f"Lease {namespace}/{name} is held by {lease.holder} for another {left:.0f} s."
        raise LeaseHeld(NAME, sentence, lease.holder)
    out = await _update(api, current, _taken(_dict(current.get("spec")), spec, holder, now))
    memo[key] = out
    return objects.lease(out)


async def release(api: Api, namespace: str, name: str, holder: str, held: dict[str, Any] | None = None) -> None:
    memo = {} if held is None else held
    key = f"{namespace}/{name}"
    last = memo.pop(key, None)
    if last is not None and objects.lease(last).holder == holder:
        try:  # the Lease this room wrote last: one PUT, no GET
            memo[key] = await _update(api, last, _released(last))
            return
        except (Conflict, NotFound):
            pass  # written by someone else since: read it and judge below
    try:
        current = await get(api, LEASES, namespace, name)
    except NotFound:
        return
    memo[key] = current
    if objects.lease(current).holder != holder:
        return  # not ours: nothing to give back
    try:
        memo[key] = await _update(api, current, _released(current))
    except Conflict:
        return  # someone else renewed or took it meanwhile: it is no longer ours to release


def _released(lease: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in _dict(lease.get("spec")).items() if k not in ("holderIdentity", "renewTime")}


async def _update(api: Api, current: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    md = _dict(current.get("metadata"))
    ns, name = str(md.get("namespace") or ""), str(md.get("name") or "")
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": md, "spec": spec}
    try:
        out = await api.call("PUT", LEASES.path(ns, name), What("update", LEASES, ns, name), body=body)
    except Conflict:
        raise Conflict(NAME, f"Lease {ns}/{name} changed while this room renewed it; another room holds it.") from None
    return out if isinstance(out, dict) else {}
