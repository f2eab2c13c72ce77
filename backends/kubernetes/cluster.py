"""`KubeCluster`: the `backends.base.Cluster` protocol (and `ObjectWrites`) on a Kubernetes API server.

- read-only refuses every write itself, with `ReadOnly`, before any request;
- reads are single GETs (the current engine's observe); `watch()` is an informer
  (see informer.py) over Deployments, Services, Leases, the routers the targets use,
  Flagger / Argo Rollouts objects when their CRDs are installed (with the ReplicaSets Rollouts own),
  and the Events about the kinds of object targets are made of (event_reader.py);
- controller state is the `shiftroom.io/state` annotation of the managed object,
  written with the resourceVersion the controller read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal

from app.model import Strategy, Target
from backends.base import (
    AccessAnswer,
    AccessCheck,
    BootstrapPlan,
    ClusterEvent,
    Deployment,
    ForeignObject,
    Kind,
    LayoutPart,
    Lease,
    NotFound,
    ReadOnly,
    Revision,
    Route,
    Service,
    WatchEvent,
)
from backends.kubernetes import (
    bootstrap,
    discovery,
    doctor,
    event_reader,
    events,
    leases,
    objects,
    probes,
    undo,
    writes,
)
from backends.kubernetes.client import Api, Where
from backends.kubernetes.errors import NAME, What
from backends.kubernetes.informer import Backoff, Informer, Source
from backends.kubernetes.resources import (
    DEPLOYMENTS,
    EVENTS,
    FOREIGN,
    LEASES,
    PODS,
    REPLICASETS,
    SERVICES,
    Res,
    resource_for,
)
from backends.kubernetes.routers import Binding, Router, router_for
from backends.kubernetes.writes import PatchType


class KubeCluster:
    name = "kubernetes"

    def __init__(
        self,
        api: Api,
        *,
        namespaces: Sequence[str] | None = None,
        targets: Sequence[Target] = (),
        read_only: bool = False,
        identity: str = "",
        where: Where | None = None,
        stall: float = 120.0,
        watch_timeout: int = 300,
        denied_retry: float = 60.0,
    ) -> None:
        self.api = api
        self.namespaces = list(namespaces) if namespaces else None  # None: all namespaces
        self.read_only = read_only
        self.identity = identity
        api.identity = identity
        self.where = where
        self.stall = stall
        self.watch_timeout = watch_timeout
        self.denied_retry = denied_retry  # Events refused (403): asked again this often
        self.backoff = Backoff()
        self._served: dict[str, bool] = {}
        self._leases: dict[str, Any] = {}  # the last Lease objects this room saw or wrote: a take needs no GET
        self.routes: dict[tuple[str, str], tuple[Binding, Router]] = {}
        for t in targets:
            self.add_target(t)

    def add_target(self, t: Target) -> None:
        router = router_for(t.router)
        if t.strategy is not Strategy.CANARY or router is None:
            return
        d = t.deployment or t.name
        svc = t.service or d
        b = Binding(
            route=t.name,
            namespace=t.namespace,
            primary=f"{d}-primary",
            canary=d,
            primary_backend=f"{svc}-primary",
            canary_backend=f"{svc}-canary",
        )
        self.routes[(t.namespace, t.name)] = (b, router)

    # ------------------------------------------------------------ guards

    def _write(self, what: str) -> None:
        if self.read_only:
            raise ReadOnly(NAME, f"This room is open read-only on the cluster, so it refused to {what}.")

    async def ping(self) -> None:
        await discovery.version(self.api)

    async def close(self) -> None:
        await self.api.close()

    # ---------------------------------------------- AccessReview (doctor.py), CanaryBootstrap (bootstrap.py)

    async def review_access(self, checks: Sequence[AccessCheck]) -> dict[AccessCheck, AccessAnswer]:
        def route_res(namespace: str, target: str) -> Res | None:
            found = self.routes.get((namespace, target))
            return found[1].res if found else None

        return await doctor.review(self.api, self.identity, checks, route_res)

    def canary_layout(self, target: Target) -> list[LayoutPart]:
        return bootstrap.layout(self, target)

    async def plan_bootstrap(self, target: Target) -> BootstrapPlan:
        return await bootstrap.bootstrap_plan(self, target)

    async def apply_bootstrap(self, plan: BootstrapPlan) -> list[str]:
        return await bootstrap.apply_plan(self, plan)

    # ------------------------------------------------------------ deployments

    async def list_deployments(self, namespace: str | None = None) -> list[Deployment]:
        out: list[Deployment] = []
        for ns in [namespace] if namespace else _spaces(self.namespaces):
            body = await self.api.call("GET", DEPLOYMENTS.path(ns), What("list", DEPLOYMENTS, ns))
            for item in body.get("items") or []:
                try:
                    out.append(objects.deployment(item))
                except Exception:
                    continue  # the watch shows it as an Invalid marker
        return sorted(out, key=lambda d: (d.namespace, d.name))

    async def get_deployment(self, namespace: str, name: str) -> Deployment:
        return objects.deployment(await writes.get(self.api, DEPLOYMENTS, namespace, name))

    async def set_image(self, namespace: str, name: str, container: str, image: str) -> Deployment:
        self._write(f"set the image of deployment {namespace}/{name}")
        return objects.deployment(await writes.set_image(self.api, namespace, name, container, image))

    async def scale(self, namespace: str, name: str, replicas: int) -> Deployment:
        self._write(f"scale deployment {namespace}/{name}")
        await writes.scale(self.api, namespace, name, replicas)
        return await self.get_deployment(namespace, name)

    async def revisions(self, namespace: str, name: str) -> list[Revision]:
        dep = await writes.get(self.api, DEPLOYMENTS, namespace, name)
        rss = await undo.owned_replicasets(self.api, namespace, dep)
        return sorted((objects.revision(rs) for rs in rss), key=lambda r: r.revision)

    async def rollout_undo(self, namespace: str, name: str, to_revision: int | None = None) -> Deployment:
        self._write(f"roll back deployment {namespace}/{name}")
        return objects.deployment(await undo.rollout_undo(self.api, namespace, name, to_revision))

    # ------------------------------------------------------------ services and routes

    async def get_service(self, namespace: str, name: str) -> Service:
        return objects.service(await writes.get(self.api, SERVICES, namespace, name))

    async def patch_selector(
        self, namespace: str, name: str, selector: Mapping[str, str], resource_version: str | None = None
    ) -> Service:
        self._write(f"change the selector of service {namespace}/{name}")
        return objects.service(await writes.patch_selector(self.api, namespace, name, selector, resource_version))

    def _route(self, namespace: str, name: str) -> tuple[Binding, Router]:
        found = self.routes.get((namespace, name))
        if found is None:
            raise NotFound(
                NAME,
                f"No canary target {namespace}/{name} is configured, so it has no route; "
                "add it to targets: in shiftroom.yaml.",
            )
        return found

    async def _router_object(self, namespace: str, name: str) -> tuple[Binding, Router, dict[str, Any]]:
        b, router = self._route(namespace, name)
        try:
            return b, router, await writes.get(self.api, router.res, namespace, router.object_name(b))
        except NotFound:
            if router.res.group and not await discovery.served(self.api, router.res, self._served):
                raise NotFound(
                    NAME,
                    f"Target {namespace}/{name} routes with {router.kind}, but the "
                    f"{router.res.kind} CRD ({router.res.crd}) is not installed in this cluster; "
                    "install it or set the target's router.",
                ) from None
            raise

    async def get_route(self, namespace: str, name: str) -> Route:
        b, router, obj = await self._router_object(namespace, name)
        return router.route(obj, b)

    async def set_weights(
        self, namespace: str, name: str, weights: Mapping[str, int], resource_version: str | None = None
    ) -> Route:
        self._write(f"change the weights of route {namespace}/{name}")

        async def attempt(retry: bool) -> Route:
            b, router, obj = await self._router_object(namespace, name)
            body = router.patch(obj, b, weights)
            if resource_version and not retry:
                body["metadata"]["resourceVersion"] = resource_version
            out = await writes.patch(self.api, router.res, namespace, router.object_name(b), body)
            return router.route(out, b)

        if resource_version:
            return await attempt(False)
        return await writes.retry_once(attempt)

    async def _annotated(self, kind: Kind, namespace: str, name: str) -> tuple[Res, str]:
        if kind == "Deployment":
            return DEPLOYMENTS, name
        if kind == "Service":
            return SERVICES, name
        b, router = self._route(namespace, name)
        return router.res, router.object_name(b)

    async def get_annotations(self, kind: Kind, namespace: str, name: str) -> dict[str, str]:
        res, obj_name = await self._annotated(kind, namespace, name)
        obj = await writes.get(self.api, res, namespace, obj_name)
        return objects._strmap(objects._dict(obj.get("metadata")).get("annotations"))

    async def patch_annotations(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        annotations: Mapping[str, str | None],
        resource_version: str | None = None,
    ) -> None:
        self._write(f"annotate {kind.lower()} {namespace}/{name}")
        res, obj_name = await self._annotated(kind, namespace, name)
        await writes.patch_annotations(self.api, res, namespace, obj_name, annotations, resource_version)

    # ------------------------------------------------------------ leases

    async def acquire_lease(self, namespace: str, name: str, holder: str, duration: float) -> Lease:
        self._write(f"take lease {namespace}/{name}")
        return await leases.acquire(self.api, namespace, name, holder, duration, self._leases)

    async def release_lease(self, namespace: str, name: str, holder: str) -> None:
        self._write(f"release lease {namespace}/{name}")
        await leases.release(self.api, namespace, name, holder, self._leases)

    async def get_lease(self, namespace: str, name: str) -> Lease | None:
        return await leases.get_lease(self.api, namespace, name)

    # ------------------------------------------------------------ probes, events, watches

    async def probe(self, namespace: str, deployment: str, path: str = "/health") -> tuple[bool, str]:
        self._write(f"run a health check in deployment {namespace}/{deployment}")
        return await probes.probe(self.api, namespace, deployment, path)

    async def events(self, namespace: str | None = None, since: float = 0.0) -> list[ClusterEvent]:
        out: list[ClusterEvent] = []
        for ns in [namespace] if namespace else _spaces(self.namespaces):
            out.extend(await events.list_events(self.api, ns, since))
        return sorted(out, key=lambda e: e.t)

    async def record_event(
        self, kind: Kind, namespace: str, name: str, action: str, note: str, warning: bool = False
    ) -> None:
        """A decision as an `events.k8s.io/v1` Event on the object."""
        self._write(f"record an event on {kind.lower()} {namespace}/{name}")
        res, obj_name = await self._annotated(kind, namespace, name)
        await events.record(self.api, res, namespace, obj_name, action, note, warning=warning, instance=self.identity)

    async def record_object_event(
        self, api_version: str, kind: str, namespace: str, name: str, action: str, note: str, warning: bool = False
    ) -> None:
        """A decision on any object (a Flagger Canary, an Argo Rollout) as an `events.k8s.io/v1` Event."""
        self._write(f"record an event on {kind} {namespace}/{name}")
        res = resource_for(api_version, kind)
        await events.record(self.api, res, namespace, name, action, note, warning=warning, instance=self.identity)

    def sources(self, namespace: str | None = None) -> list[Source]:
        spaces: list[str | None] = [namespace] if namespace else _spaces(self.namespaces)
        out: list[Source] = []
        for ns in spaces:
            out += [
                Source(DEPLOYMENTS, ns, "Deployment", objects.deployment),
                Source(SERVICES, ns, "Service", objects.service),
                Source(LEASES, ns, "Lease", self._lease_seen, label_selector=leases.SELECTOR),
            ]
            by_res: dict[Res, Router] = {}
            for b, router in self.routes.values():
                if ns is None or b.namespace == ns:
                    by_res.setdefault(router.res, router)
            for res, router in by_res.items():
                out.append(Source(res, ns, "Route", self._route_converter(router), optional=bool(res.group)))
            out += [Source(res, ns, "Foreign", objects.foreign, optional=True) for res in FOREIGN]
            out.append(_rollout_replica_sets(ns))
            out += self._event_sources(ns)  # last: after the Canaries
        return out

    def _event_sources(self, namespace: str | None) -> list[Source]:
        """A namespace's Events in one watch; over every namespace (`-A`) one watch per kind of object the
        room shows (`regarding.kind=<Kind>`), never every Event of the cluster (its Pods', its Nodes')."""
        if namespace is not None:
            return [Source(EVENTS, namespace, "Event", event_reader.event, spare=True)]
        kinds = event_reader.selected_kinds(router.res.kind for _, router in self.routes.values())
        return [
            Source(EVENTS, None, "Event", event_reader.event, field_selector=f"regarding.kind={kind}", spare=True)
            for kind in kinds
        ]

    def _lease_seen(self, obj: dict[str, Any]) -> Lease:
        leases.seen(self._leases, obj)
        return objects.lease(obj)

    def _route_converter(self, router: Router) -> Any:
        names = {(b.namespace, router.object_name(b)): b for b, r in self.routes.values() if r.kind == router.kind}

        def convert(obj: dict[str, Any]) -> Route | None:
            ns, name, _ = objects.meta(obj)
            b = names.get((ns, name))
            return router.route(obj, b) if b else None

        return convert

    def informer(self, namespace: str | None = None) -> Informer:
        return Informer(
            self.api,
            self.sources(namespace),
            stall=self.stall,
            timeout_seconds=self.watch_timeout,
            backoff=self.backoff,
            denied_retry=self.denied_retry,
        )

    def watch(self, namespace: str | None = None) -> AsyncGenerator[WatchEvent, None]:
        return self.informer(namespace).events()

    # ------------------------------------------------------------ ObjectWrites

    async def patch_object(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Any,
        patch_type: Literal["merge", "json", "strategic"],
        resource_version: str | None = None,
        subresource: str = "",
    ) -> ForeignObject:
        """PATCH the object (or its `subresource`); a `bytes` patch is sent as it is, byte for byte
        (another tool's exact request), and then carries no resourceVersion precondition."""
        self._write(f"patch {kind} {namespace}/{name}")
        res = resource_for(api_version, kind)
        pt: PatchType = patch_type
        body = patch if isinstance(patch, bytes) else writes.patch_body(pt, patch, resource_version)
        out = await writes.patch(self.api, res, namespace, name, body, pt, sub=subresource or None)
        out.setdefault("apiVersion", api_version)
        out.setdefault("kind", kind)
        return objects.foreign(out)

    async def proxy(
        self,
        namespace: str,
        kind: Literal["pods", "services"],
        name: str,
        port: int | str,
        path: str,
        method: str = "GET",
        body: Any = None,
    ) -> tuple[int, str]:
        """A request through the API server's proxy subresource: (status, body text)."""
        if method.upper() != "GET":
            self._write(f"send {method.upper()} to {kind}/{name} in {namespace}")
        res = PODS if kind == "pods" else SERVICES
        sub = f"{name}:{port}/proxy/{path.lstrip('/')}"
        return await self.api.raw(
            method.upper(), res.path(namespace, sub), What(method.lower(), res, namespace, name, "proxy"), body
        )


def _rollout_replica_sets(namespace: str | None) -> Source:
    """The ReplicaSets Argo Rollouts keeps (stable, canary, history for undo): only those that carry its
    hash label are listed and watched, and only those a Rollout owns are delivered."""
    return Source(
        REPLICASETS,
        namespace,
        "Foreign",
        objects.rollout_replica_set,
        label_selector=objects.ROLLOUT_HASH_LABEL,
    )


def _spaces(namespaces: list[str] | None) -> list[str | None]:
    return list(namespaces) if namespaces else [None]
