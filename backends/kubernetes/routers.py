"""Traffic routers: each writes the desired weights into its object and reads back what the object
says, so the room shows desired vs actual.

Names follow Flagger's layout for a canary target `t` on deployment `d` with service `s`:
workloads `d-primary` (stable) and `d` (canary) are reached through Services `s-primary` and
`s-canary`; the router object is named after the target (an NGINX canary is the Ingress
`t-canary` beside the main Ingress `t`). A blue-green target routes with its Service selector.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backends.base import Invalid, Route
from backends.kubernetes.errors import NAME
from backends.kubernetes.objects import _dict, _int, meta
from backends.kubernetes.resources import HTTPROUTES, INGRESSES, TRAFFICSPLITS, VIRTUALSERVICES, Res

CANARY = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
ROUTERS = ("istio", "gateway-api", "nginx", "smi", "service")
DEFAULT = "istio"


@dataclass(frozen=True)
class Binding:
    """The names one canary target routes between."""

    route: str
    namespace: str
    primary: str  # stable workload
    canary: str  # canary workload
    primary_backend: str
    canary_backend: str

    def workload(self, backend: str) -> str:
        return {self.primary_backend: self.primary, self.canary_backend: self.canary}.get(backend, backend)

    def backend(self, workload: str) -> str:
        return {self.primary: self.primary_backend, self.canary: self.canary_backend}.get(workload, workload)

    def weights(self, found: Mapping[str, int]) -> dict[str, int]:
        """Backend weights → workload weights, only the two this target splits between."""
        out: dict[str, int] = {}
        for backend, w in found.items():
            wl = self.workload(backend)
            if wl in (self.primary, self.canary):
                out[wl] = out.get(wl, 0) + w
        return out


class Router:
    kind = ""
    res: Res = VIRTUALSERVICES

    def object_name(self, b: Binding) -> str:
        return b.route

    def read(self, obj: dict[str, Any], b: Binding) -> dict[str, int]:
        raise NotImplementedError

    def patch(self, obj: dict[str, Any], b: Binding, weights: Mapping[str, int]) -> dict[str, Any]:
        """A merge patch (carrying the object's resourceVersion) that sets `weights`."""
        raise NotImplementedError

    def route(self, obj: dict[str, Any], b: Binding) -> Route:
        ns, _name, rv = meta(obj)
        try:
            weights = self.read(obj, b)
        except (TypeError, ValueError, AttributeError) as exc:
            raise Invalid(NAME, f"{self.res.kind} {ns}/{_name} has weights Shiftroom cannot read: {exc}.") from None
        annotations = {str(k): str(v) for k, v in _dict(_dict(obj.get("metadata")).get("annotations")).items()}
        return Route(
            name=b.route,
            namespace=ns or b.namespace,
            weights=weights,
            resource_version=rv,
            **{"annotations": annotations} if "annotations" in Route.model_fields else {},
        )

    @staticmethod
    def _rv(obj: dict[str, Any]) -> dict[str, Any]:
        return {"resourceVersion": _dict(obj.get("metadata")).get("resourceVersion")}


class Istio(Router):
    """`VirtualService` `spec.http[].route[]`: `destination.host` and `weight`."""

    kind = "istio"
    res = VIRTUALSERVICES

    def read(self, obj: dict[str, Any], b: Binding) -> dict[str, int]:
        found: dict[str, int] = {}
        for http in _dict(obj.get("spec")).get("http") or []:
            routes = _dict(http).get("route") or []
            for r in routes:
                host = str(_dict(_dict(r).get("destination")).get("host") or "").split(".")[0]
                found[host] = _int(_dict(r).get("weight"), 100 if len(routes) == 1 else 0)
            break  # the first HTTP route is the one Flagger drives
        return b.weights(found)

    def patch(self, obj: dict[str, Any], b: Binding, weights: Mapping[str, int]) -> dict[str, Any]:
        http = copy.deepcopy(_dict(obj.get("spec")).get("http") or [])
        if not http:
            http = [{"route": []}]
        for entry in http:
            routes = [r for r in entry.get("route") or [] if isinstance(r, dict)]
            hosts = [str(_dict(r.get("destination")).get("host") or "").split(".")[0] for r in routes]
            for wl, w in weights.items():
                backend = b.backend(wl)
                if backend in hosts:
                    routes[hosts.index(backend)]["weight"] = int(w)
                else:
                    routes.append({"destination": {"host": backend}, "weight": int(w)})
            entry["route"] = routes
        return {"metadata": self._rv(obj), "spec": {"http": http}}


class GatewayApi(Router):
    """`HTTPRoute` `spec.rules[].backendRefs[]`: `name` and `weight` (default 1)."""

    kind = "gateway-api"
    res = HTTPROUTES

    def read(self, obj: dict[str, Any], b: Binding) -> dict[str, int]:
        found: dict[str, int] = {}
        for rule in _dict(obj.get("spec")).get("rules") or []:
            for ref in _dict(rule).get("backendRefs") or []:
                found[str(_dict(ref).get("name") or "")] = _int(_dict(ref).get("weight"), 1)
            break
        w = b.weights(found)
        total = sum(w.values())
        if total and total != 100:  # weights are proportional: show them as percent
            w = {k: round(100 * v / total) for k, v in w.items()}
        return w

    def patch(self, obj: dict[str, Any], b: Binding, weights: Mapping[str, int]) -> dict[str, Any]:
        rules = copy.deepcopy(_dict(obj.get("spec")).get("rules") or []) or [{"backendRefs": []}]
        for rule in rules:
            refs = [r for r in rule.get("backendRefs") or [] if isinstance(r, dict)]
            names = [str(r.get("name") or "") for r in refs]
            for wl, w in weights.items():
                backend = b.backend(wl)
                if backend in names:
                    refs[names.index(backend)]["weight"] = int(w)
                else:
                    refs.append({"name": backend, "port": _port(refs), "weight": int(w)})
            rule["backendRefs"] = refs
        return {"metadata": self._rv(obj), "spec": {"rules": rules}}


class Smi(Router):
    """SMI `TrafficSplit` `spec.backends[]`: `service` and `weight`."""

    kind = "smi"
    res = TRAFFICSPLITS

    def read(self, obj: dict[str, Any], b: Binding) -> dict[str, int]:
        found = {
            str(_dict(x).get("service") or ""): _int(_dict(x).get("weight"))
            for x in _dict(obj.get("spec")).get("backends") or []
        }
        return b.weights(found)

    def patch(self, obj: dict[str, Any], b: Binding, weights: Mapping[str, int]) -> dict[str, Any]:
        backends = [x for x in copy.deepcopy(_dict(obj.get("spec")).get("backends") or []) if isinstance(x, dict)]
        names = [str(x.get("service") or "") for x in backends]
        for wl, w in weights.items():
            backend = b.backend(wl)
            if backend in names:
                backends[names.index(backend)]["weight"] = int(w)
            else:
                backends.append({"service": backend, "weight": int(w)})
        return {"metadata": self._rv(obj), "spec": {"backends": backends}}


class Nginx(Router):
    """The canary `Ingress` `<route>-canary`: `nginx.ingress.kubernetes.io/canary: "true"` and
    `canary-weight` (percent to the canary; the rest goes to the main Ingress)."""

    kind = "nginx"
    res = INGRESSES

    def object_name(self, b: Binding) -> str:
        return f"{b.route}-canary"

    def read(self, obj: dict[str, Any], b: Binding) -> dict[str, int]:
        ann = _dict(_dict(obj.get("metadata")).get("annotations"))
        canary = _int(ann.get(CANARY_WEIGHT)) if str(ann.get(CANARY, "")).lower() == "true" else 0
        canary = max(0, min(100, canary))
        return {b.primary: 100 - canary, b.canary: canary}

    def patch(self, obj: dict[str, Any], b: Binding, weights: Mapping[str, int]) -> dict[str, Any]:
        total = sum(weights.values()) or 100
        canary = round(100 * int(weights.get(b.canary, 0)) / total)
        ann = {CANARY: "true", CANARY_WEIGHT: str(canary)}
        return {"metadata": {**self._rv(obj), "annotations": ann}}


def _port(refs: list[dict[str, Any]]) -> int:
    for r in refs:
        if isinstance(r.get("port"), int):
            return int(r["port"])
    return 80


ROUTER_TYPES: dict[str, type[Router]] = {"istio": Istio, "gateway-api": GatewayApi, "nginx": Nginx, "smi": Smi}


def router_for(kind: str) -> Router | None:
    """The router of `Target.router` ("" → Istio, Flagger's default); None for "service"."""
    cls = ROUTER_TYPES.get(kind or DEFAULT)
    return cls() if cls else None
