"""Resource types the server serves: the built-ins and those a CustomResourceDefinition adds; discovery documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass
class ScalePaths:
    spec_replicas: str = ".spec.replicas"
    status_replicas: str = ".status.replicas"
    label_selector: str | None = ".status.selector"


@dataclass
class ResourceType:
    group: str
    versions: list[str]
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: list[str] = field(default_factory=list)
    status: bool = False
    scale: ScalePaths | None = None
    builtin: bool = True
    verbs: list[str] = field(default_factory=lambda: list(ALL_VERBS))
    extra_subresources: list[str] = field(default_factory=list)
    # bump metadata.generation when the spec changes (deployments, replicasets, CRs)
    generation: bool = False
    crd_name: str = ""
    schemas: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v

    def subresources(self) -> list[str]:
        subs = []
        if self.status:
            subs.append("status")
        if self.scale:
            subs.append("scale")
        return subs + self.extra_subresources


def _core(plural: str, kind: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType("", ["v1"], plural, kind, namespaced, singular=kind.lower(), **kw)


def builtin_types() -> list[ResourceType]:
    deploy_scale = ScalePaths(".spec.replicas", ".status.replicas", ".status.selector")
    return [
        _core(
            "namespaces",
            "Namespace",
            False,
            short_names=["ns"],
            status=True,
            verbs=["create", "delete", "get", "list", "patch", "update", "watch"],
        ),
        _core(
            "services",
            "Service",
            short_names=["svc"],
            status=True,
            extra_subresources=["proxy"],
            verbs=["create", "delete", "get", "list", "patch", "update", "watch"],
        ),
        _core("pods", "Pod", short_names=["po"], status=True, extra_subresources=["proxy"]),
        _core("events", "Event", short_names=["ev"]),
        _core("configmaps", "ConfigMap", short_names=["cm"]),
        ResourceType(
            "apps",
            ["v1"],
            "deployments",
            "Deployment",
            True,
            "deployment",
            ["deploy"],
            status=True,
            scale=deploy_scale,
            generation=True,
        ),
        ResourceType(
            "apps",
            ["v1"],
            "replicasets",
            "ReplicaSet",
            True,
            "replicaset",
            ["rs"],
            status=True,
            scale=deploy_scale,
            generation=True,
        ),
        ResourceType("coordination.k8s.io", ["v1"], "leases", "Lease", True, "lease"),
        ResourceType("events.k8s.io", ["v1"], "events", "Event", True, "event", ["ev"]),
        ResourceType(
            "networking.k8s.io", ["v1"], "ingresses", "Ingress", True, "ingress", ["ing"], status=True, generation=True
        ),
        ResourceType(
            "apiextensions.k8s.io",
            ["v1"],
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
            "customresourcedefinition",
            ["crd", "crds"],
            status=True,
            generation=True,
        ),
        ResourceType("rbac.authorization.k8s.io", ["v1"], "clusterroles", "ClusterRole", False, "clusterrole"),
        ResourceType(
            "rbac.authorization.k8s.io",
            ["v1"],
            "clusterrolebindings",
            "ClusterRoleBinding",
            False,
            "clusterrolebinding",
        ),
        ResourceType("rbac.authorization.k8s.io", ["v1"], "roles", "Role", True, "role"),
        ResourceType("rbac.authorization.k8s.io", ["v1"], "rolebindings", "RoleBinding", True, "rolebinding"),
        ResourceType(
            "authentication.k8s.io",
            ["v1"],
            "selfsubjectreviews",
            "SelfSubjectReview",
            False,
            "selfsubjectreview",
            verbs=["create"],
        ),
        ResourceType(
            "authorization.k8s.io",
            ["v1"],
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            False,
            "selfsubjectaccessreview",
            verbs=["create"],
        ),
    ]


def _scale_from_crd(sub: dict[str, Any]) -> ScalePaths | None:
    scale = sub.get("scale")
    if not isinstance(scale, dict):
        return None
    return ScalePaths(
        scale.get("specReplicasPath", ".spec.replicas"),
        scale.get("statusReplicasPath", ".status.replicas"),
        scale.get("labelSelectorPath"),
    )


def type_from_crd(crd: dict[str, Any]) -> ResourceType:
    spec = crd["spec"]
    names = spec["names"]
    served = [v for v in spec.get("versions", []) if v.get("served", True)]
    storage = next((v for v in served if v.get("storage")), served[0] if served else {})
    sub = storage.get("subresources") or {}
    schemas = {v["name"]: (v.get("schema") or {}).get("openAPIV3Schema", {}) for v in served}
    return ResourceType(
        spec["group"],
        [v["name"] for v in served],
        names["plural"],
        names["kind"],
        spec.get("scope", "Namespaced") == "Namespaced",
        names.get("singular", names["kind"].lower()),
        list(names.get("shortNames", [])),
        status="status" in sub,
        scale=_scale_from_crd(sub),
        builtin=False,
        generation=True,
        crd_name=crd["metadata"]["name"],
        schemas=schemas,
    )


class Registry:
    """Resource types by (group, plural); also by (group, version, plural) for routing."""

    def __init__(self) -> None:
        self.types: dict[tuple[str, str], ResourceType] = {}
        for t in builtin_types():
            self.add(t)

    def add(self, t: ResourceType) -> None:
        self.types[t.key] = t

    def remove(self, key: tuple[str, str]) -> None:
        self.types.pop(key, None)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        t = self.types.get((group, plural))
        if t is None or version not in t.versions:
            return None
        return t

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        return next((t for t in self.types.values() if t.group == group and t.kind == kind), None)

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t in self.types.values():
            versions = out.setdefault(t.group, [])
            versions.extend(v for v in t.versions if v not in versions)
        return out

    # discovery documents -------------------------------------------------------------------------------------

    def api_versions(self, address: str) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
        }

    def _group_doc(self, name: str, versions: list[str]) -> dict[str, Any]:
        vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": vs, "preferredVersion": vs[0]}

    def api_group_list(self) -> dict[str, Any]:
        groups = [self._group_doc(g, vs) for g, vs in sorted(self.groups().items()) if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def api_group(self, name: str) -> dict[str, Any] | None:
        versions = self.groups().get(name)
        if not versions or not name:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group_doc(name, versions)}

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        entries: list[dict[str, Any]] = []
        for t in sorted(self.types.values(), key=lambda t: t.plural):
            if t.group != group or version not in t.versions:
                continue
            entry: dict[str, Any] = {
                "name": t.plural,
                "singularName": t.singular,
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": t.verbs,
            }
            if t.short_names:
                entry["shortNames"] = t.short_names
            entries.append(entry)
            for sub in t.subresources():
                entries.append(_subresource_entry(t, sub))
        if not entries:
            return None
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


def _subresource_entry(t: ResourceType, sub: str) -> dict[str, Any]:
    if sub == "scale":
        return {
            "name": f"{t.plural}/scale",
            "singularName": "",
            "namespaced": t.namespaced,
            "group": "autoscaling",
            "version": "v1",
            "kind": "Scale",
            "verbs": ["get", "patch", "update"],
        }
    if sub == "proxy":
        return {
            "name": f"{t.plural}/proxy",
            "singularName": "",
            "namespaced": t.namespaced,
            "kind": f"{t.kind}ProxyOptions",
            "verbs": ["create", "delete", "get", "patch", "update"],
        }
    return {
        "name": f"{t.plural}/{sub}",
        "singularName": "",
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": ["get", "patch", "update"],
    }
