"""The pods/proxy and services/proxy subresources, answered by handlers the tests set.

    /api/v1/namespaces/{ns}/pods/{[scheme:]name[:port]}/proxy/{path}
    /api/v1/namespaces/{ns}/services/{[scheme:]name[:port]}/proxy/{path}

A pod's answer comes from the handler set for its first container's image (default: `/health`,
`/healthz`, `/readyz` answer 200 "OK", or 503 after `set_image_health(image, False)`; anything else 404).
A service's answer comes from its handler if one is set (e.g. `FlaggerLoadTester`), else from a Ready pod
its selector matches; with none: 503 ServiceUnavailable `no endpoints available for service "<name>"`.
The backend's status and body pass through unchanged, as the API server's proxy does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError, not_found
from .selectors import selector_matches

if TYPE_CHECKING:
    from .handlers import Route

Reply = tuple[int, str | bytes] | tuple[int, str | bytes, str]
Handler = Callable[[str, str, dict[str, str], bytes], Reply]
HEALTH_PATHS = {"health", "healthz", "readyz", "ready", "livez"}


def _unavailable(message: str) -> ApiError:
    return ApiError(503, message, "ServiceUnavailable")


def _split_target(target: str) -> tuple[str, str, str]:
    """`name`, `name:port`, `scheme:name:port` → (scheme, name, port)."""
    parts = target.split(":")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return "", parts[0], ""


@dataclass
class FlaggerLoadTester:
    """Flagger's load tester webhook endpoints (its gate storage): gates are closed until opened.

    POST /gate/check and /rollback/check → 200 "Approved" when open, else 403 "Forbidden";
    /gate/open, /gate/close, /rollback/open, /rollback/close → 202; /gate/approve → 200; /gate/halt → 403;
    / with a payload carrying metadata (a load test command) → 202, recorded in `tasks`; /healthz → 200.
    The payload is Flagger's CanaryWebhookPayload; gates are keyed by `<name>.<namespace>`.
    """

    gates: dict[str, bool] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def is_open(self, name: str, namespace: str, rollback: bool = False) -> bool:
        return self.gates.get(("rollback." if rollback else "") + f"{name}.{namespace}", False)

    def __call__(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        path = "/" + path.strip("/")
        self.calls.append((method, path))
        if path == "/healthz":
            return 200, "OK"
        if path == "/gate/approve":
            return 200, "OK"
        if path == "/gate/halt":
            return 403, "Forbidden"
        try:
            payload = json.loads(body or b"null")
            key = f"{payload['name']}.{payload['namespace']}"
        except (ValueError, KeyError, TypeError):
            return 400, ""
        gate = {"/gate": key, "/rollback": f"rollback.{key}"}
        prefix, _, action = path.rpartition("/")
        if prefix in gate and action == "check":
            return (200, "Approved") if self.gates.get(gate[prefix], False) else (403, "Forbidden")
        if prefix in gate and action in ("open", "close"):
            self.gates[gate[prefix]] = action == "open"
            return 202, ""
        if path == "/":
            if not payload.get("metadata"):
                return 400, "metadata not found in payload"
            self.tasks.append(payload)
            return 202, ""
        return 404, "404 page not found\n"


@dataclass
class Proxies:
    server: Any
    pod_handlers: dict[str, Handler] = field(default_factory=dict)
    image_health: dict[str, bool] = field(default_factory=dict)
    service_handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)

    def default_pod_handler(self, image: str) -> Handler:
        def answer(method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
            if path.strip("/") in HEALTH_PATHS:
                return (200, "OK") if self.image_health.get(image, True) else (503, "unhealthy")
            return 404, "404 page not found\n"

        return answer

    def pod_handler(self, pod: dict[str, Any]) -> Handler:
        containers = pod.get("spec", {}).get("containers") or [{}]
        image = containers[0].get("image", "")
        return self.pod_handlers.get(image) or self.default_pod_handler(image)

    async def handle(self, request: web.Request, route: Route, body: bytes) -> web.StreamResponse:
        _, name, _ = _split_target(route.name)
        store = self.server.state.store
        obj = store.get(route.t.key, route.namespace, name)
        if obj is None:
            raise not_found(route.group, route.t.plural, name)
        if route.t.plural == "pods":
            if not (obj.get("status") or {}).get("podIP"):  # kube-apiserver's words for a pod with no IP
                raise ApiError(400, "address not allowed", "BadRequest")
            handler = self.pod_handler(obj)
        else:
            handler = self.service_handlers.get((route.namespace, name)) or self._endpoint(obj)
        reply = handler(request.method, route.rest, dict(request.query), body)
        status, payload = reply[0], reply[1]
        ctype = reply[2] if len(reply) == 3 else "text/plain; charset=utf-8"
        data = payload.encode() if isinstance(payload, str) else payload
        return web.Response(status=status, body=data, headers={"Content-Type": ctype})

    def _endpoint(self, service: dict[str, Any]) -> Handler:
        selector = (service.get("spec") or {}).get("selector")
        ns = service["metadata"]["namespace"]
        if selector:
            for pod in self.server.state.store.list(("", "pods"), ns):
                ready = any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (pod.get("status") or {}).get("conditions") or []
                )
                if ready and selector_matches({"matchLabels": selector}, pod["metadata"].get("labels") or {}):
                    return self.pod_handler(pod)
        raise _unavailable(f'no endpoints available for service "{service["metadata"]["name"]}"')


def attach(server: Any) -> None:
    server.state.proxy = Proxies(server)
