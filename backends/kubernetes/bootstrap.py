"""Flagger's layout for a canary target whose objects are missing, as a preview and an apply.

For target `t` on deployment `d` with service `s`: the Deployment `d-primary` made from
`d`'s template (its `app` label becomes `d-primary`), the Services `s-primary` and
`s-canary`, the route (VirtualService / HTTPRoute / TrafficSplit named `t`, or the
canary Ingress `t-canary` copied from the Ingress `t`) at 100/0, then `d` scaled to 0.
Only missing objects are created (each labelled `app.kubernetes.io/managed-by: shiftroom`);
nothing is replaced and nothing is ever deleted. The Services listen on the port of the Service
`s` when it exists, else on the deployment's first containerPort, else on 80.

`layout` names the parts for the room (no I/O: the engine looks them up in its cache);
`bootstrap_plan` / `apply_plan` are the `CanaryBootstrap` capability of `KubeCluster`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.model import Target
from backends.base import BootstrapPlan, BootstrapStep, Conflict, Invalid, LayoutPart, NotFound
from backends.kubernetes import discovery
from backends.kubernetes.errors import NAME, What
from backends.kubernetes.objects import _dict
from backends.kubernetes.resources import DEPLOYMENTS, INGRESSES, SERVICES, Res, resource_for
from backends.kubernetes.routers import CANARY, CANARY_WEIGHT, Binding, Router
from backends.kubernetes.writes import get

if TYPE_CHECKING:
    from backends.kubernetes.cluster import KubeCluster

MANAGED = {"app.kubernetes.io/managed-by": "shiftroom"}
CREATED = "shiftroom.io/created-by"


@dataclass(frozen=True)
class Step:
    verb: str  # "create" or "scale"
    res: Res
    namespace: str
    name: str
    line: str  # what the preview shows
    body: dict[str, Any] = field(default_factory=dict)
    replicas: int = 0


def _relabel(spec: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    for labels in (
        _dict(_dict(spec.get("selector")).get("matchLabels")),
        _dict(_dict(_dict(spec.get("template")).get("metadata")).get("labels")),
    ):
        for k, v in list(labels.items()):
            if v == old:
                labels[k] = new
        labels.setdefault("app", new)
    return spec


def _meta(name: str, ns: str, target: Target) -> dict[str, Any]:
    return {"name": name, "namespace": ns, "labels": dict(MANAGED), "annotations": {CREATED: target.key}}


def _svc(name: str, ns: str, app: str, port: int, target: Target, target_port: Any = None) -> dict[str, Any]:
    ports = [{"name": "http", "port": port, "targetPort": port if target_port is None else target_port}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, ns, target),
        "spec": {"selector": {"app": app}, "ports": ports},
    }


def _ports(main: dict[str, Any] | None, source: dict[str, Any]) -> tuple[int, Any]:
    """(port, targetPort): the Service `s`'s first port, else the first containerPort, else 80."""
    for p in _dict((main or {}).get("spec")).get("ports") or []:
        if isinstance(p, dict) and isinstance(p.get("port"), int):
            return p["port"], p.get("targetPort", p["port"])
    pod = _dict(_dict(_dict(source.get("spec")).get("template")).get("spec"))
    for c in pod.get("containers") or []:
        for p in _dict(c).get("ports") or []:
            if isinstance(p, dict) and isinstance(p.get("containerPort"), int):
                return p["containerPort"], p["containerPort"]
    return 80, 80


def _route(router: Router, b: Binding, svc: str, port: int, target: Target, main: dict[str, Any] | None) -> Any:
    ns = b.namespace
    meta = _meta(router.object_name(b), ns, target)
    api = router.res.api_version
    if router.kind == "istio":
        return {
            "apiVersion": api,
            "kind": "VirtualService",
            "metadata": meta,
            "spec": {
                "hosts": [svc],
                "http": [
                    {
                        "route": [
                            {"destination": {"host": b.primary_backend}, "weight": 100},
                            {"destination": {"host": b.canary_backend}, "weight": 0},
                        ]
                    }
                ],
            },
        }
    if router.kind == "gateway-api":
        return {
            "apiVersion": api,
            "kind": "HTTPRoute",
            "metadata": meta,
            "spec": {
                "rules": [
                    {
                        "backendRefs": [
                            {"name": b.primary_backend, "port": port, "weight": 100},
                            {"name": b.canary_backend, "port": port, "weight": 0},
                        ]
                    }
                ]
            },
        }
    if router.kind == "smi":
        return {
            "apiVersion": api,
            "kind": "TrafficSplit",
            "metadata": meta,
            "spec": {
                "service": svc,
                "backends": [{"service": b.primary_backend, "weight": 100}, {"service": b.canary_backend, "weight": 0}],
            },
        }
    if main is None:
        raise NotFound(
            NAME,
            f"The NGINX canary of {target.key} is copied from the Ingress {ns}/{b.route}, "
            "which does not exist; create it first.",
        )
    spec = copy.deepcopy(_dict(main.get("spec")))
    for rule in spec.get("rules") or []:
        for p in _dict(_dict(rule).get("http")).get("paths") or []:
            backend = _dict(_dict(p).get("backend")).get("service")
            if isinstance(backend, dict):
                backend["name"] = b.canary_backend
    meta["annotations"].update({CANARY: "true", CANARY_WEIGHT: "0"})
    return {"apiVersion": api, "kind": "Ingress", "metadata": meta, "spec": spec}


async def _exists(cluster: KubeCluster, res: Res, ns: str, name: str) -> dict[str, Any] | None:
    try:
        return await get(cluster.api, res, ns, name)
    except NotFound:
        return None


def layout(cluster: KubeCluster, target: Target) -> list[LayoutPart]:
    """The objects of `target`'s layout, keyed as the object cache keys them; [] when it is not routed here."""
    found = cluster.routes.get((target.namespace, target.name))
    if found is None:
        return []
    b, router = found
    ns = target.namespace
    services = [
        LayoutPart(kind="Service", namespace=ns, name=name, label=f"Service {ns}/{name}", required=False)
        for name in (b.primary_backend, b.canary_backend)
    ]  # the controller does not read them (the route names them): missing alone, the target is still driven
    return [
        LayoutPart(kind="Deployment", namespace=ns, name=b.canary, label=f"Deployment {ns}/{b.canary}"),
        LayoutPart(kind="Deployment", namespace=ns, name=b.primary, label=f"Deployment {ns}/{b.primary}"),
        *services,
        LayoutPart(kind="Route", namespace=ns, name=b.route, label=f"{router.res.kind} {ns}/{router.object_name(b)}"),
    ]


async def plan(cluster: KubeCluster, target: Target, port: int | None = None) -> list[Step]:
    """What bootstrapping `target` would do (empty when its layout is complete)."""
    return (await _plan(cluster, target, port))[1]


async def _plan(cluster: KubeCluster, target: Target, port: int | None) -> tuple[dict[str, Any], list[Step]]:
    found = cluster.routes.get((target.namespace, target.name))
    if found is None:
        raise Invalid(NAME, f"{target.key} is not a canary target this cluster routes; nothing to bootstrap.")
    b, router = found
    ns, d = target.namespace, b.canary
    svc = target.service or d
    source = await _exists(cluster, DEPLOYMENTS, ns, d)
    if source is None:
        raise NotFound(
            NAME,
            f"Deployment {ns}/{d} (the target of {target.key}) does not exist; Shiftroom "
            "bootstraps around an existing deployment.",
        )
    if port is None:
        port, target_port = _ports(await _exists(cluster, SERVICES, ns, svc), source)
    else:
        target_port = port
    steps: list[Step] = []
    if await _exists(cluster, DEPLOYMENTS, ns, b.primary) is None:
        spec = _relabel(_dict(source.get("spec")), d, b.primary)
        spec["replicas"] = target.replicas
        body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(b.primary, ns, target), "spec": spec}
        steps.append(
            Step(
                "create",
                DEPLOYMENTS,
                ns,
                b.primary,
                f"create Deployment {ns}/{b.primary} from {d}'s template ({target.replicas} replicas)",
                body,
            )
        )
    for name, app in ((b.primary_backend, b.primary), (b.canary_backend, d)):
        if await _exists(cluster, SERVICES, ns, name) is None:
            steps.append(
                Step(
                    "create",
                    SERVICES,
                    ns,
                    name,
                    f"create Service {ns}/{name} selecting app={app}",
                    _svc(name, ns, app, port, target, target_port),
                )
            )
    if await _exists(cluster, router.res, ns, router.object_name(b)) is None:
        if router.res.group and not await discovery.served(cluster.api, router.res, cluster._served):
            raise NotFound(
                NAME,
                f"{target.key} routes with {router.kind}, but the {router.res.kind} CRD ({router.res.crd}) is not "
                "installed in this cluster; install it or set the target's router.",
            )
        main = await _exists(cluster, INGRESSES, ns, b.route) if router.kind == "nginx" else None
        body = _route(router, b, svc, port, target, main)
        steps.append(
            Step(
                "create",
                router.res,
                ns,
                router.object_name(b),
                f"create {router.res.kind} {ns}/{router.object_name(b)} at 100/0",
                body,
            )
        )
    replicas = int(_dict(source.get("spec")).get("replicas") or 0)
    if steps and replicas:
        steps.append(
            Step(
                "scale",
                DEPLOYMENTS,
                ns,
                d,
                f"scale Deployment {ns}/{d} {replicas} → 0 (the primary serves until a release)",
            )
        )
    return source, steps


async def apply(cluster: KubeCluster, steps: list[Step]) -> list[str]:
    """Run a plan; one line per step. An object created meanwhile by someone else is left alone."""
    cluster._write("bootstrap a canary layout")
    done: list[str] = []
    for s in steps:
        if s.verb == "scale":
            await cluster.scale(s.namespace, s.name, s.replicas)
            done.append(s.line)
            continue
        try:
            await cluster.api.call(
                "POST", s.res.path(s.namespace), What("create", s.res, s.namespace, s.name), body=s.body
            )
            done.append(s.line)
        except Conflict:
            done.append(f"{s.res.kind} {s.namespace}/{s.name} already exists: left as it is")
    return done


# ---------------------------------------------------------------- the CanaryBootstrap capability


async def bootstrap_plan(cluster: KubeCluster, target: Target) -> BootstrapPlan:
    source, steps = await _plan(cluster, target, None)
    return BootstrapPlan(
        steps=tuple(
            BootstrapStep(
                verb="create" if s.verb == "create" else "scale",
                api_version=s.res.api_version,
                kind=s.res.kind,
                namespace=s.namespace,
                name=s.name,
                line=s.line,
                body=s.body,
                replicas=s.replicas,
            )
            for s in steps
        ),
        source_version=str(_dict(source.get("metadata")).get("resourceVersion") or ""),
    )


async def apply_plan(cluster: KubeCluster, plan: BootstrapPlan) -> list[str]:
    steps = [
        Step(s.verb, resource_for(s.api_version, s.kind), s.namespace, s.name, s.line, dict(s.body), s.replicas)
        for s in plan.steps
    ]
    return await apply(cluster, steps)
