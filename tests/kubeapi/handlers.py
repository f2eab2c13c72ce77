"""The HTTP surface: authentication, routing of /api and /apis paths, RBAC checks, CRUD and LIST."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import ssl
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request, expired, forbidden, invalid, unauthorized
from .patch import APPLY
from .rbac import Attributes, User
from .resources import ResourceType
from .selectors import field_matcher, label_matcher
from .state import RequestRecord, ServerState
from .watch import Watcher, truthy

NOT_FOUND = ApiError(404, "the server could not find the requested resource", "NotFound")
VERSION = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.0-shiftroom-test",
    "gitCommit": "",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.22",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def json_response(body: Any, status: int = 200) -> web.Response:
    """JSON as kube-apiserver sends it: `Content-Type: application/json`, no charset parameter."""
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json")


class NoRoute(Exception):
    """A path no API group or version serves: kube-apiserver's mux answers a plain-text 404, not a Status."""


def no_route() -> web.Response:
    return web.Response(status=404, text="404 page not found\n", content_type="text/plain")


class Route:
    """A parsed resource path."""

    def __init__(
        self, group: str, version: str, t: ResourceType, namespace: str, name: str, sub: str, rest: str
    ) -> None:
        self.group, self.version, self.t = group, version, t
        self.namespace, self.name, self.sub, self.rest = namespace, name, sub, rest


class Api:
    def __init__(self, state: ServerState, address: str) -> None:
        self.state = state
        self.address = address

    # ---- entry point ---------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = RequestRecord(
            request.method, request.path, dict(request.query), request.headers.get("Content-Type", ""), body
        )
        self.state.requests.append(record)
        if not self.state.reachable:
            _abort(request)
            return web.Response(status=503)  # never sent: the connection is already reset
        if self.state.latency:
            await asyncio.sleep(self.state.latency)
        try:
            user = self._authenticate(request)
            record.user = user.name
            response = await self._dispatch(request, user, body)
        except ApiError as exc:
            response = json_response(exc.status(), exc.code)
        except NoRoute:
            response = no_route()
        record.status = response.status
        return response

    def _authenticate(self, request: web.Request) -> User:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        user = self.state.tokens.get(token)
        for issuer in self.state.issuers:
            user = user or issuer.authenticate(token)
        if user is None and not token:
            user = self._certificate_user(request)
        if user is None:
            raise unauthorized()
        return user

    def _certificate_user(self, request: web.Request) -> User | None:
        """The verified client certificate of the connection: CN the user, each O a group. kube-apiserver
        checks its validity on every request, so a kept-alive connection stops working when it expires."""
        transport = request.transport
        cert = transport.get_extra_info("peercert") if transport is not None else None
        if not cert:
            return None
        if self.state.clock.now().timestamp() >= ssl.cert_time_to_seconds(cert["notAfter"]):
            return None
        if str(cert.get("serialNumber", "")).upper() in self.state.revoked_serials:
            return None
        fields = [f for rdn in cert.get("subject", ()) for f in rdn]
        name = next((v for k, v in fields if k == "commonName"), "")
        return User(name, [v for k, v in fields if k == "organizationName"]) if name else None

    async def _dispatch(self, request: web.Request, user: User, body: bytes) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        static = self._discovery(parts)
        if isinstance(static, str):
            return web.Response(text=static, content_type="text/plain")
        if static is not None:
            return json_response(static)
        route = self._route(parts)
        if route.t.key == ("authentication.k8s.io", "selfsubjectreviews") and request.method == "POST":
            return json_response(self._self_subject_review(user), 201)
        if route.t.key == ("authorization.k8s.io", "selfsubjectaccessreviews") and request.method == "POST":
            return json_response(self._self_subject_access_review(user, _json(body)), 201)
        verb = _verb(request, route)
        self._authorize(user, verb, route)
        if route.sub == "proxy":
            if self.state.proxy is None:
                raise NOT_FOUND
            proxied: web.StreamResponse = await self.state.proxy.handle(request, route, body)
            return proxied
        return await self._resource(request, route, verb, body)

    # ---- routing -------------------------------------------------------------------------------------------

    def _discovery(self, parts: list[str]) -> dict[str, Any] | str | None:
        reg = self.state.registry
        if parts == ["version"]:
            return VERSION
        if parts in (["healthz"], ["readyz"], ["livez"]):
            return "ok"
        if parts == ["api"]:
            return reg.api_versions(self.address)
        if parts == ["api", "v1"]:
            return reg.resource_list("", "v1")
        if parts == ["apis"]:
            return reg.api_group_list()
        if len(parts) == 2 and parts[0] == "apis":
            doc = reg.api_group(parts[1])
            if doc is None:
                raise NoRoute
            return doc
        if len(parts) == 3 and parts[0] == "apis":
            doc = reg.resource_list(parts[1], parts[2])
            if doc is None:
                raise NoRoute
            return doc
        return None

    def _route(self, parts: list[str]) -> Route:
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
            if self.state.registry.resource_list(group, version) is None:
                raise NoRoute  # no such group/version at all (a CRD not installed)
        else:
            raise NoRoute
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if not rest:
            raise NOT_FOUND
        t = self.state.registry.lookup(group, version, rest[0])
        if t is None or (namespace and not t.namespaced):
            raise NOT_FOUND
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in t.subresources():
            raise NOT_FOUND
        if len(rest) > 3 and sub != "proxy":
            raise NOT_FOUND
        return Route(group, version, t, namespace, name, sub, "/".join(rest[3:]))

    def _authorize(self, user: User, verb: str, route: Route) -> None:
        attrs = Attributes(verb, route.group, route.t.plural, route.sub, route.name, route.namespace)
        allowed, _ = self.state.authorizer.decide(user, attrs)
        if not allowed:
            raise forbidden(user.name, verb, route.group, route.t.plural, route.sub, route.name, route.namespace)

    # ---- resources -----------------------------------------------------------------------------------------

    async def _resource(self, request: web.Request, route: Route, verb: str, body: bytes) -> web.StreamResponse:
        ops, t = self.state.ops, route.t
        if verb == "watch":
            return await self._watch(request, route)
        if verb == "list":
            return json_response(self._list(request, route))
        if verb == "get":
            obj = ops.get(t, route.namespace, route.name)
            return json_response(self._out(route, ops.scale_of(t, obj) if route.sub == "scale" else obj))
        if verb == "create":
            if route.name:
                raise ApiError(
                    405, "the server does not allow this method on the requested resource", "MethodNotAllowed"
                )
            return json_response(self._out(route, ops.create(t, route.namespace, _json(body))), 201)
        if verb == "update":
            if t.key in UPDATE_NEEDS_RV or not t.builtin:
                _require_resource_version(route, _json(body))
            if route.sub == "scale":
                return json_response(ops.update_scale(t, route.namespace, route.name, _json(body)))
            obj = ops.update(t, route.namespace, route.name, _json(body), route.sub)
            return json_response(self._out(route, obj))
        if verb == "patch":
            ctype = request.headers.get("Content-Type", "")
            if ctype.startswith(APPLY):
                if not request.query.get("fieldManager"):
                    raise invalid(
                        "PatchOptions",
                        "meta.k8s.io",
                        "",
                        [("fieldManager", "Required value: is required for apply patch")],
                    )
                obj = ops.server_side_apply(t, route.namespace, route.name, body, route.sub)
                return json_response(obj if route.sub == "scale" else self._out(route, obj))
            obj = ops.patch(t, route.namespace, route.name, ctype, body, route.sub)
            return json_response(obj if route.sub == "scale" else self._out(route, obj))
        if verb == "delete":
            options = _json(body) if body else {}
            result = ops.delete(t, route.namespace, route.name, (options or {}).get("preconditions"))
            return json_response(self._out(route, result) if result.get("kind") != "Status" else result)
        raise ApiError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed")

    def _out(self, route: Route, obj: dict[str, Any]) -> dict[str, Any]:
        if obj.get("kind") not in ("Scale", "Status"):
            obj = copy.deepcopy(obj)
            obj["apiVersion"] = route.t.api_version(route.version)
        return obj

    def _list(self, request: web.Request, route: Route) -> dict[str, Any]:
        q = request.query
        labels = label_matcher(q.get("labelSelector"))
        fields = field_matcher(q.get("fieldSelector"), route.t.builtin, route.t.key)
        ns = route.namespace if route.t.namespaced and route.namespace else None
        items = [o for o in self.state.ops.list_view(route.t, ns) if labels(o) and fields(o)]
        rv = self.state.store.rv
        start = 0
        if q.get("continue"):
            token = _decode_continue(q["continue"])
            if token["rv"] < self.state.store.compacted_rv:
                raise expired(
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter."
                )
            rv = token["rv"]
            start = next((n for n, o in enumerate(items) if _ident(o) > tuple(token["after"])), len(items))
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if not route.t.builtin:  # custom resource lists always carry `continue` (empty on the last page)
            meta["continue"] = ""
        limit = int(q.get("limit", "0") or 0)
        page = items[start:]
        if limit and len(page) > limit:
            page = page[:limit]
            meta["continue"] = _encode_continue(rv, _ident(page[-1]))
            meta["remainingItemCount"] = len(items) - start - limit
        out = []
        for obj in page:
            obj = copy.deepcopy(obj)
            if route.t.builtin:  # items of built-in lists carry no kind/apiVersion; custom resources' do
                obj.pop("kind", None)
                obj.pop("apiVersion", None)
            else:
                obj["apiVersion"] = route.t.api_version(route.version)
            out.append(obj)
        return {
            "kind": route.t.list_kind,
            "apiVersion": route.t.api_version(route.version),
            "metadata": meta,
            "items": out,
        }

    async def _watch(self, request: web.Request, route: Route) -> web.StreamResponse:
        q = request.query
        labels = label_matcher(q.get("labelSelector"))
        fields = field_matcher(q.get("fieldSelector"), route.t.builtin, route.t.key)
        ns = route.namespace if route.t.namespaced and route.namespace else None
        watcher = Watcher(self.state, route.t, route.version, ns, lambda o: labels(o) and fields(o), dict(q))
        return await watcher.serve(request)

    # ---- reviews -------------------------------------------------------------------------------------------

    def _self_subject_review(self, user: User) -> dict[str, Any]:
        return {
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": self.state.clock.stamp()},
            "status": {"userInfo": {"username": user.name, "groups": user.all_groups()}},
        }

    def _self_subject_access_review(self, user: User, body: Any) -> dict[str, Any]:
        spec = (body or {}).get("spec") or {}
        ra = spec.get("resourceAttributes")
        if ra is None:
            allowed, reason = True, ""  # nonResourceAttributes: discovery paths are open to authenticated users
        else:
            attrs = Attributes(
                ra.get("verb", ""),
                ra.get("group", ""),
                ra.get("resource", ""),
                ra.get("subresource", ""),
                ra.get("name", ""),
                ra.get("namespace", ""),
            )
            allowed, reason = self.state.authorizer.decide(user, attrs)
        status: dict[str, Any] = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }


#: Resources whose strategy refuses an unconditional update (a PUT without metadata.resourceVersion);
#: custom resources are the same.
UPDATE_NEEDS_RV = {("coordination.k8s.io", "leases")}


def _require_resource_version(route: Route, body: Any) -> None:
    if isinstance(body, dict) and (body.get("metadata") or {}).get("resourceVersion"):
        return
    t = route.t
    raise ApiError(
        422,
        f'{t.plural}.{t.group} "{route.name}" is invalid: metadata.resourceVersion: Invalid value: 0: '
        "must be specified for an update",
        "Invalid",
        {
            "name": route.name,
            "group": t.group,
            "kind": t.plural,
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": "Invalid value: 0: must be specified for an update",
                    "field": "metadata.resourceVersion",
                }
            ],
        },
    )


def _verb(request: web.Request, route: Route) -> str:
    method = request.method
    if route.sub == "proxy":
        return {
            "GET": "get",
            "HEAD": "get",
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
        }.get(method, "get")
    if method == "GET":
        if not route.name:
            return "watch" if truthy(request.query.get("watch")) else "list"
        return "get"
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    if method not in verbs:
        raise ApiError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed")
    if method == "DELETE" and not route.name:
        raise ApiError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed")
    return verbs[method]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise bad_request(f"the object provided is unrecognized: {exc}") from exc


def _ident(obj: dict[str, Any]) -> tuple[str, str]:
    return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def _encode_continue(rv: int, after: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "after": list(after)}).encode()).decode()


def _decode_continue(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return {"rv": int(data["rv"]), "after": data["after"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request("continue key is not valid") from exc


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
