"""Authentication (bearer token → user and groups) and RBAC authorization over the stored
Role/ClusterRole/RoleBinding/ClusterRoleBinding objects, as the RBAC documentation describes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .store import Store

RBAC = "rbac.authorization.k8s.io"
SUPERUSER_GROUP = "system:masters"


@dataclass
class User:
    name: str
    groups: list[str] = field(default_factory=list)

    def all_groups(self) -> list[str]:
        return [*self.groups, "system:authenticated"]


@dataclass
class Attributes:
    verb: str
    group: str
    resource: str
    subresource: str = ""
    name: str = ""
    namespace: str = ""


def _rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.group not in groups:
        return False
    wanted = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = rule.get("resources") or []
    sub_wild = f"*/{attrs.subresource}" if attrs.subresource else None
    if "*" not in resources and wanted not in resources and (sub_wild is None or sub_wild not in resources):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _subject_matches(subject: dict[str, Any], user: User) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.all_groups()
    if kind == "ServiceAccount":
        return user.name == f"system:serviceaccount:{subject.get('namespace', '')}:{name}"
    return False


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _role_rules(self, ref: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
        if ref.get("kind") == "ClusterRole":
            role = self.store.get((RBAC, "clusterroles"), "", ref.get("name", ""))
        else:
            role = self.store.get((RBAC, "roles"), namespace, ref.get("name", ""))
        return list((role or {}).get("rules") or [])

    def decide(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason) in the words the RBAC authorizer uses."""
        if SUPERUSER_GROUP in user.groups:
            return True, ""
        for binding in self.store.list((RBAC, "clusterrolebindings")):
            if not any(_subject_matches(s, user) for s in binding.get("subjects") or []):
                continue
            if any(_rule_allows(r, attrs) for r in self._role_rules(binding.get("roleRef") or {}, "")):
                ref = binding["roleRef"]
                return True, (
                    f'RBAC: allowed by ClusterRoleBinding "{binding["metadata"]["name"]}" of '
                    f'ClusterRole "{ref["name"]}" to User "{user.name}"'
                )
        if attrs.namespace:
            for binding in self.store.list((RBAC, "rolebindings"), attrs.namespace):
                if not any(_subject_matches(s, user) for s in binding.get("subjects") or []):
                    continue
                ref = binding.get("roleRef") or {}
                if any(_rule_allows(r, attrs) for r in self._role_rules(ref, attrs.namespace)):
                    return True, (
                        f'RBAC: allowed by RoleBinding "{binding["metadata"]["name"]}/{attrs.namespace}" '
                        f'of {ref.get("kind")} "{ref.get("name")}" to User "{user.name}"'
                    )
        return False, ""


def default_cluster_roles() -> list[dict[str, Any]]:
    """`cluster-admin`, and the parts of the user-facing `view` and `edit` roles that cover the resources
    this server serves (as the RBAC documentation lists them: no Leases, no events.k8s.io, no custom
    resources; `edit` may use pods/proxy and services/proxy, `view` may not)."""
    read = ["get", "list", "watch"]
    write = ["create", "delete", "deletecollection", "patch", "update"]
    view_rules = [
        {
            "apiGroups": [""],
            "verbs": read,
            "resources": [
                "configmaps",
                "endpoints",
                "events",
                "namespaces",
                "namespaces/status",
                "pods",
                "pods/log",
                "pods/status",
                "services",
                "services/status",
            ],
        },
        {
            "apiGroups": ["apps"],
            "verbs": read,
            "resources": [
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
            ],
        },
        {"apiGroups": ["networking.k8s.io"], "verbs": read, "resources": ["ingresses", "ingresses/status"]},
    ]
    edit_rules = [
        *view_rules,
        {"apiGroups": [""], "verbs": read, "resources": ["pods/proxy", "services/proxy"]},
        {
            "apiGroups": [""],
            "verbs": write,
            "resources": ["configmaps", "endpoints", "pods", "pods/proxy", "services", "services/proxy"],
        },
        {
            "apiGroups": ["apps"],
            "verbs": write,
            "resources": [
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
            ],
        },
        {"apiGroups": ["networking.k8s.io"], "verbs": write, "resources": ["ingresses"]},
    ]
    return [
        _cluster_role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
        _cluster_role("view", view_rules),
        _cluster_role("edit", edit_rules),
    ]


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}
