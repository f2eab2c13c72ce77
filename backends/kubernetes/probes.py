"""The seed's health check (`curl -f /health` in the new colour's pods), through the API server's
pod proxy (`pods/<pod>:<port>/proxy/health`) on every ready pod, so the room needs no network path
into the cluster. A forbidden proxy is said, and readiness stands in for the check."""

from __future__ import annotations

import json
from typing import Any

from backends.kubernetes.client import Api
from backends.kubernetes.errors import What, from_status, status_message
from backends.kubernetes.objects import _dict, containers
from backends.kubernetes.resources import DEPLOYMENTS, PODS
from backends.kubernetes.writes import get


def _api_forbidden(text: str) -> bool:
    """A 403 from the API server itself (a Status object), not from the application."""
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("kind") == "Status" and data.get("reason") == "Forbidden"


def _failure(pod: str, status: int, text: str) -> str:
    """Who failed: the application (its own answer), or the API server, which could not reach the pod
    (a `Status` body: "address not allowed" for a pod without an IP, "error trying to reach service")."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("kind") == "Status" and data.get("apiVersion") == "v1":
        return f"the API server could not reach {pod} (HTTP {status}: {status_message(text)})"
    return f"{pod} answered HTTP {status}"


def pod_ready(pod: dict[str, Any]) -> bool:
    if _dict(pod.get("metadata")).get("deletionTimestamp"):
        return False
    return any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in _dict(pod.get("status")).get("conditions") or []
    )


def pod_port(pod: dict[str, Any]) -> int:
    for c in containers(pod):
        for p in c.get("ports") or []:
            if isinstance(p, dict) and isinstance(p.get("containerPort"), int):
                return int(p["containerPort"])
    return 80


async def deployment_pods(api: Api, namespace: str, deployment: str) -> list[dict[str, Any]]:
    dep = await get(api, DEPLOYMENTS, namespace, deployment)
    labels = _dict(_dict(_dict(dep.get("spec")).get("selector")).get("matchLabels"))
    query = [("labelSelector", ",".join(f"{k}={v}" for k, v in sorted(labels.items())))] if labels else []
    body = await api.call("GET", PODS.path(namespace), What("list", PODS, namespace), query=query)
    return [p for p in body.get("items") or [] if isinstance(p, dict)]


async def probe(api: Api, namespace: str, deployment: str, path: str = "/health") -> tuple[bool, str]:
    pods = await deployment_pods(api, namespace, deployment)
    ready = [p for p in pods if pod_ready(p)]
    if not ready:
        return False, f"no ready pod of deployment {namespace}/{deployment} to check {path}"
    failed: list[str] = []
    for pod in ready:
        name = str(_dict(pod.get("metadata")).get("name"))
        sub = f"{name}:{pod_port(pod)}/proxy{path if path.startswith('/') else '/' + path}"
        what = What("get", PODS, namespace, name, "proxy")
        status, text = await api.raw("GET", PODS.path(namespace, sub), what)
        if status == 403 and _api_forbidden(text):
            err = from_status(status, text, what, api.identity)
            ok = len(ready) == len(pods)
            return ok, (
                f"{err.sentence.rstrip('.')}; so readiness stands in for {path}: {len(ready)}/{len(pods)} pods ready"
            )
        if not 200 <= status <= 299:
            failed.append(_failure(name, status, text))
    if failed:
        return False, f"{path} failed on {len(failed)}/{len(ready)} pods: {'; '.join(failed[:3])}"
    return True, f"{path} passed on {len(ready)}/{len(ready)} ready pods"
