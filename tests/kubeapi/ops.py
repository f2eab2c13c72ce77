"""Create, replace, patch and delete with the API server's semantics: resourceVersion preconditions,
uid/creationTimestamp/generation, status and scale subresources, namespaces, CRDs becoming servable."""

from __future__ import annotations

import copy
import json
import random
import string
import uuid
from collections.abc import Callable
from typing import Any

import yaml

from . import patch as patches
from .defaults import apply_defaults
from .errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    not_found,
    precondition_failed,
    reasonless,
    unsupported_media_type,
)
from .resources import Registry, ResourceType, type_from_crd
from .selectors import selector_string
from .store import Store
from .validate import validate
from .views import storage_key, to_storage, to_view

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NS_KEY = ("", "namespaces")


def _path_get(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.lstrip(".").split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def _path_set(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.lstrip(".").split(".")
    cur = obj
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


def _body_without(obj: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}


class Operations:
    def __init__(self, store: Store, registry: Registry, now: Callable[[], str]) -> None:
        self.store = store
        self.registry = registry
        self.now = now
        self.lenient = False  # `KubeApiServer.apply(obj, validate=False)`: store what a real server refuses

    # ---- reads ---------------------------------------------------------------------------------------------

    def read(self, t: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object as `t` shows it (a copy), or None."""
        obj = self.store.get(storage_key(t), namespace if t.namespaced else "", name)
        return None if obj is None else to_view(t, copy.deepcopy(obj))

    def list_view(self, t: ResourceType, namespace: str | None = None) -> list[dict[str, Any]]:
        return [to_view(t, copy.deepcopy(o)) for o in self.store.list(storage_key(t), namespace)]

    def _put(self, t: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        return to_view(t, self.store.put(storage_key(t), to_storage(t, obj)))

    def get(self, t: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.read(t, namespace, name)
        if obj is None:
            raise not_found(t.group, t.plural, name)
        return obj

    # ---- writes --------------------------------------------------------------------------------------------

    def _check_namespace(self, t: ResourceType, namespace: str) -> None:
        if t.namespaced and self.store.get(NS_KEY, "", namespace) is None:
            raise not_found("", "namespaces", namespace)

    def create(self, t: ResourceType, namespace: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the object provided is unrecognized (must be of type object)")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if meta.get("resourceVersion"):
            raise reasonless("resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(string.ascii_lowercase + "0123456789", k=5))
        if t.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        obj["apiVersion"] = obj.get("apiVersion") or t.api_version()
        obj["kind"] = t.kind
        apply_defaults(t.key, obj)
        if not self.lenient:
            validate(t, obj)
        self._check_namespace(t, namespace)
        if self.read(t, meta.get("namespace", ""), meta["name"]) is not None:
            raise already_exists(t.group, t.plural, meta["name"])
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.now()
        if t.generation:
            meta["generation"] = 1
        if t.status and t.key not in (NS_KEY, CRD_KEY, ("", "pods")):
            obj.pop("status", None)
            if t.builtin:  # a built-in object's status is there from the start, empty
                obj["status"] = {"loadBalancer": {}} if t.key == ("", "services") else {}
        stored = self._put(t, obj)
        if t.key == CRD_KEY:
            self.registry.add(type_from_crd(stored))
        return stored

    def _merge_update(self, t: ResourceType, old: dict[str, Any], new: dict[str, Any], sub: str) -> dict[str, Any]:
        """The object to store when `new` replaces `old` through the main endpoint or /status."""
        if sub == "status":
            merged = copy.deepcopy(old)
            merged["status"] = copy.deepcopy(new.get("status"))
            if merged["status"] is None:
                merged.pop("status")
            return merged
        merged = copy.deepcopy(new)
        if t.status and t.key != CRD_KEY:
            if "status" in old:
                merged["status"] = copy.deepcopy(old["status"])
            else:
                merged.pop("status", None)
        return merged

    def update(self, t: ResourceType, namespace: str, name: str, body: Any, sub: str = "") -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the object provided is unrecognized (must be of type object)")
        ns = namespace if t.namespaced else ""
        old = self.read(t, ns, name)
        if old is None:
            raise not_found(t.group, t.plural, name)
        meta = body.get("metadata") or {}
        if meta.get("name", name) != name:
            raise bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(t.group, t.plural, name)
        new = self._merge_update(t, old, body, sub)
        new_meta = new.setdefault("metadata", {})
        new_meta["name"] = name
        if t.namespaced:
            new_meta["namespace"] = ns
        for keep in ("uid", "creationTimestamp", "generation"):
            if keep in old["metadata"]:
                new_meta[keep] = old["metadata"][keep]
            else:
                new_meta.pop(keep, None)
        new["apiVersion"] = old["apiVersion"]
        new["kind"] = t.kind
        if t.key == ("", "services"):  # an update that omits the allocated cluster IP keeps it
            for field in ("clusterIP", "clusterIPs"):
                if field in (old.get("spec") or {}) and field not in (new.get("spec") or {}):
                    new.setdefault("spec", {})[field] = old["spec"][field]
        apply_defaults(t.key, new)
        immutable: list[tuple[str, str]] = []
        old_selector = (old.get("spec") or {}).get("selector")
        if (
            t.key in (("apps", "deployments"), ("apps", "replicasets"))
            and (new.get("spec") or {}).get("selector") != old_selector
        ):
            shown = json.dumps((new.get("spec") or {}).get("selector"), sort_keys=True)
            immutable.append(("spec.selector", f"Invalid value: {shown}: field is immutable"))
        if not self.lenient:
            validate(t, new, immutable)
        if t.generation and self._spec_changed(t, old, new):
            new_meta["generation"] = old["metadata"].get("generation", 1) + 1
        if new == old or _same_ignoring_rv(new, old):
            return copy.deepcopy(old)
        stored = self._put(t, new)
        if t.key == CRD_KEY:
            self.registry.add(type_from_crd(stored))
        return stored

    def _spec_changed(self, t: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
        skip = ("metadata", "status") if t.status else ("metadata",)
        return _body_without(old, *skip) != _body_without(new, *skip)

    def patch(
        self, t: ResourceType, namespace: str, name: str, content_type: str, raw: bytes, sub: str = ""
    ) -> dict[str, Any]:
        current = self.get(t, namespace, name)
        if sub == "scale":
            return self._patch_scale(t, namespace, name, current, content_type, raw)
        patched = self._apply_patch(t, current, content_type, raw)
        if isinstance(patched, dict):
            rv = (patched.get("metadata") or {}).get("resourceVersion")
            if rv and rv != current["metadata"]["resourceVersion"]:
                raise conflict(t.group, t.plural, name)
            patched.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.update(t, namespace, name, patched, sub)

    def server_side_apply(
        self, t: ResourceType, namespace: str, name: str, raw: bytes, sub: str = ""
    ) -> dict[str, Any]:
        """`application/apply-patch+yaml`: creates the object when missing, else merges the applied
        configuration (field ownership and conflicts are not tracked)."""
        ns = namespace if t.namespaced else ""
        if sub or self.read(t, ns, name) is not None:
            return self.patch(t, namespace, name, patches.APPLY, raw, sub)
        try:
            doc = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise bad_request(f"error decoding YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise bad_request("the body of an apply patch must be an object")
        doc.setdefault("metadata", {})["name"] = doc.get("metadata", {}).get("name") or name
        if doc["metadata"]["name"] != name:
            raise bad_request(
                f"the name of the object ({doc['metadata']['name']}) does not match the name on the URL ({name})"
            )
        return self.create(t, namespace, doc)

    def _apply_patch(self, t: ResourceType, current: dict[str, Any], content_type: str, raw: bytes) -> Any:
        ctype = content_type.split(";")[0].strip()
        accepted = [patches.JSON_PATCH, patches.MERGE, patches.APPLY]
        if t.builtin:
            accepted.append(patches.STRATEGIC)
        if ctype not in accepted:
            known = ctype in (patches.JSON_PATCH, patches.MERGE, patches.APPLY, patches.STRATEGIC)
            raise unsupported_media_type(accepted, known)
        try:
            doc = yaml.safe_load(raw) if ctype == patches.APPLY else json.loads(raw or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise bad_request(f"error decoding patch: {exc}") from exc
        if ctype == patches.JSON_PATCH:
            return patches.json_patch(current, doc)
        if ctype == patches.STRATEGIC:
            return patches.strategic_merge(current, doc)
        return patches.merge_patch(current, doc)

    # ---- scale subresource -----------------------------------------------------------------------------------

    def scale_of(self, t: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        assert t.scale is not None
        meta = obj["metadata"]
        selector = ""
        if t.builtin:
            selector = selector_string((obj.get("spec") or {}).get("selector"))
        elif t.scale.label_selector:
            selector = _path_get(obj, t.scale.label_selector) or ""
        status: dict[str, Any] = {"replicas": _path_get(obj, t.scale.status_replicas) or 0}
        if selector:
            status["selector"] = selector
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
            },
            "spec": {"replicas": _path_get(obj, t.scale.spec_replicas) or 0},
            "status": status,
        }

    def update_scale(self, t: ResourceType, namespace: str, name: str, scale: Any) -> dict[str, Any]:
        assert t.scale is not None
        current = self.get(t, namespace, name)
        if not isinstance(scale, dict):
            raise bad_request("the object provided is unrecognized (must be of type Scale)")
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise conflict(t.group, t.plural, name)
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or replicas < 0:
            raise invalid(
                "Scale",
                "autoscaling",
                name,
                [("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")],
            )
        _path_set(current, t.scale.spec_replicas, replicas)
        return self.scale_of(t, self.update(t, namespace, name, current))

    def _patch_scale(
        self, t: ResourceType, namespace: str, name: str, current: dict[str, Any], content_type: str, raw: bytes
    ) -> dict[str, Any]:
        scale = self.scale_of(t, current)
        scale_type = ResourceType("autoscaling", ["v1"], "scale", "Scale", True)  # SMP allowed on Scale
        return self.update_scale(t, namespace, name, self._apply_patch(scale_type, scale, content_type, raw))

    # ---- delete --------------------------------------------------------------------------------------------

    def delete(
        self, t: ResourceType, namespace: str, name: str, preconditions: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        ns = namespace if t.namespaced else ""
        old = self.get(t, ns, name)
        pre = preconditions or {}
        for field in ("resourceVersion", "uid"):
            if pre.get(field) and pre[field] != old["metadata"][field]:
                raise precondition_failed(t.kind, t.group, field, pre[field], old["metadata"][field], name)
        if t.key == NS_KEY:
            for key in {storage_key(other) for other in self.registry.types.values() if other.namespaced}:
                for obj in self.store.list(key, name):
                    self.store.remove(key, name, obj["metadata"]["name"])
        removed = self.store.remove(storage_key(t), ns, name)
        assert removed is not None
        gone = to_view(t, removed)
        if t.key == CRD_KEY:
            plural_group = (gone["spec"]["group"], gone["spec"]["names"]["plural"])
            self.store.drop_type(plural_group)
            self.registry.remove(plural_group)
        self._cascade(gone)
        if t.key in (("", "pods"), ("", "services"), NS_KEY) or not t.builtin:
            return gone
        details: dict[str, Any] = {"name": name, "kind": t.plural, "uid": gone["metadata"]["uid"]}
        if t.group:
            details["group"] = t.group
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def _cascade(self, owner: dict[str, Any]) -> None:
        """Background garbage collection: dependents whose ownerReferences name the deleted uid go too."""
        uid = owner["metadata"]["uid"]
        dependents = [
            (key, obj["metadata"])
            for key in {storage_key(t) for t in self.registry.types.values()}
            for obj in self.store.list(key)
            if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])
        ]
        for key, meta in dependents:
            gone = self.store.remove(key, meta.get("namespace", ""), meta["name"])
            if gone is not None:
                self._cascade(gone)


def _same_ignoring_rv(a: dict[str, Any], b: dict[str, Any]) -> bool:
    a2, b2 = copy.deepcopy(a), copy.deepcopy(b)
    a2["metadata"].pop("resourceVersion", None)
    b2["metadata"].pop("resourceVersion", None)
    return a2 == b2


__all__ = ["ApiError", "Operations"]
