"""`KubeApiServer`: the test API server on 127.0.0.1, in a background thread with its own event loop.

server = KubeApiServer(bookmark_interval=0.2)
server.start()
token = server.add_user("viewer", groups=["team"])
server.write_kubeconfig(path, contexts={"test": ("admin", "default"), "ro": ("viewer", "default")})
server.apply({...})                 # create or replace, bypassing RBAC
server.requests                     # every request: method, path, query, content_type, body, user, status
server.set_reachable(False); server.set_latency(0.5); server.stall_watches(); server.compact()
server.stop()
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import secrets
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import web

from .controllers import DeploymentController
from .errors import ApiError
from .handlers import Api
from .proxy import FlaggerLoadTester, Handler
from .rbac import SUPERUSER_GROUP, User
from .resources import ResourceType
from .state import RequestRecord, ServerState, VirtualClock

T = TypeVar("T")
ADMIN_TOKEN = "admin-token"


def _bound_socket(host: str) -> socket.socket:
    """A socket on a port the OS chose, held from the start: no other process can take the port before we listen."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


class KubeApiServer:
    def __init__(
        self,
        *,
        history_window: int = 10_000,
        bookmark_interval: float = 60.0,
        controller: str = "auto",
        controller_tick: float = 0.1,
        tls: Any = None,
    ) -> None:
        """`controller`: "auto" (the Deployment controller reacts to changes and steps every
        `controller_tick` seconds) or "manual" (it runs only in `settle()`). `tls`: a `certs.CertAuthority`: serve
        HTTPS with its server certificate and authenticate client certificates it signed (see certs.py)."""
        self.state = ServerState(history_window=history_window, bookmark_interval=bookmark_interval)
        self.controller_mode = controller
        self.controller_tick = controller_tick
        self.state.tokens[ADMIN_TOKEN] = User("admin", [SUPERUSER_GROUP])
        self.host = "127.0.0.1"
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.BaseSite | None = None
        self._sock: socket.socket | None = None  # bound by start(), listened on by the first site
        self._kubeconfig: Path | None = None
        self.tls = tls

    # ---- lifecycle -----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'https' if self.tls is not None else 'http'}://{self.host}:{self.port}"

    def start(self) -> KubeApiServer:
        self._sock = _bound_socket(self.host)
        self.port = int(self._sock.getsockname()[1])
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="kubeapi", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the test Kubernetes API server did not start within 10 s")
        return self

    def _run(self, ready: threading.Event) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start_app())
        ready.set()
        self._loop.run_forever()

    async def _start_app(self) -> None:
        self.state.seed()
        api = Api(self.state, f"{self.host}:{self.port}")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", api.handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await self._listen()
        from .controllers import attach as attach_controllers
        from .proxy import attach as attach_proxy

        attach_controllers(self, auto=self.controller_mode == "auto", tick=self.controller_tick)
        attach_proxy(self)

    async def _listen(self) -> None:
        assert self._runner is not None
        context = None
        if self.tls is not None:
            # as kube-apiserver: a client certificate is asked for, not required (tokens work too); one that
            # its CA did not sign, or that has expired, fails the handshake
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.tls.ca_cert))
            context.load_cert_chain(str(self.tls.server_cert), str(self.tls.server_key))
            context.verify_mode = ssl.CERT_OPTIONAL
        if self._sock is not None:
            sock, self._sock = self._sock, None
            self._site = web.SockSite(self._runner, sock, ssl_context=context)
        else:  # reachable again after set_reachable(False): the same port
            self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True, ssl_context=context)
        await self._site.start()

    def stop(self) -> None:
        if self._loop is None:
            return
        self.state.closing = True
        fut = asyncio.run_coroutine_threadsafe(self._stop_app(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop = None
        if self._sock is not None:  # never listened on
            self._sock.close()
            self._sock = None

    async def _stop_app(self) -> None:
        for queue in list(self.state.watch_queues):
            queue.put_nowait(None)  # wake every watch: it ends
        controller = self.state.controller
        if controller is not None:
            await controller.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the server's loop and return its result (raises what it raises)."""
        assert self._loop is not None, "server not started"
        if threading.current_thread() is self._thread:
            return fn(*args)

        async def run() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    # ---- identities and kubeconfig -------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        """The first kubeconfig written for this server (the fixture writes one: context "test", user admin)."""
        if self._kubeconfig is None:
            raise RuntimeError("no kubeconfig written yet: call write_kubeconfig(path)")
        return self._kubeconfig

    def add_user(self, name: str, groups: Iterable[str] = (), token: str | None = None) -> str:
        token = token or f"{name}-{secrets.token_hex(8)}"
        self.state.tokens[token] = User(name, list(groups))
        return token

    def revoke_token(self, token: str) -> None:
        """The token no longer authenticates: requests carrying it get 401 Unauthorized."""

        def revoke() -> None:
            self.state.tokens.pop(token, None)
            for issuer in self.state.issuers:
                issuer.revoked.add(token)

        self.call(revoke)

    def accept_issued_tokens(self, path: str | Path, name: str, groups: Iterable[str] = ()) -> None:
        """Tokens listed in the JSON-lines file `path` (the test exec plugin's) authenticate as `name` until
        their expirationTimestamp (see tokens.py)."""
        from .tokens import IssuedTokens

        issuer = IssuedTokens(Path(path), User(name, list(groups)), self.state.clock.now)
        self.call(self.state.issuers.append, issuer)

    def revoke_certificate(self, serial: str) -> None:
        """Requests over a connection that presented the client certificate `serial` (hex) get 401."""
        self.call(self.state.revoked_serials.add, serial.upper())

    def token_for(self, name: str) -> str:
        return next(t for t, u in self.state.tokens.items() if u.name == name)

    def write_kubeconfig(
        self,
        path: str | Path,
        contexts: dict[str, tuple[str, str]] | None = None,
        current: str | None = None,
        cluster: str = "kubeapi-test",
    ) -> Path:
        """A real kubeconfig: one cluster, a user entry per identity used, contexts name → (user, namespace)."""
        contexts = contexts or {"test": ("admin", "default")}
        users = sorted({user for user, _ in contexts.values()})
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": cluster, "cluster": {"server": self.url}}],
            "users": [{"name": u, "user": {"token": self.token_for(u)}} for u in users],
            "contexts": [
                {"name": n, "context": {"cluster": cluster, "user": u, "namespace": ns}}
                for n, (u, ns) in contexts.items()
            ],
            "current-context": current or next(iter(contexts)),
        }
        path = Path(path)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        if self._kubeconfig is None:
            self._kubeconfig = path
        return path

    def grant(self, user: str, cluster_role: str, namespace: str | None = None, groups: Iterable[str] = ()) -> str:
        """Make `user` (created if new) hold `cluster_role`: cluster-wide (ClusterRoleBinding) or in one
        namespace (RoleBinding). Returns the user's bearer token."""
        if not any(u.name == user for u in self.state.tokens.values()):
            self.add_user(user, groups)
        binding: dict[str, Any] = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
            "metadata": {"name": f"{user}-{cluster_role}", **({"namespace": namespace} if namespace else {})},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
        self.apply(binding)
        return self.token_for(user)

    def install_crds(self, *names: str) -> list[str]:
        """Apply schema-only upstream CRDs (names or aliases: flagger, argo, istio, gateway-api, smi; none: all)."""
        from .catalog import load_crds

        return [self.apply(crd)["metadata"]["name"] for crd in load_crds(list(names) or None)]

    # ---- direct object access (bypasses authentication and RBAC) ---------------------------------------------

    def _type(self, api_version: str, kind: str) -> ResourceType:
        group = api_version.split("/")[0] if "/" in api_version else ""
        t = self.state.registry.by_kind(group, kind) or self.state.registry.types.get((group, kind))
        if t is None:
            raise KeyError(f"no resource type {kind} in {api_version or 'v1'}")
        return t

    def apply(self, obj: dict[str, Any], validate: bool = True) -> dict[str, Any]:
        """Create `obj`, or replace the stored one (its status too); returns the stored object.
        `validate=False` stores an object a real API server would refuse (to test how readers cope)."""
        return self.call(self._apply_checked, copy.deepcopy(obj), validate)

    def _apply_checked(self, obj: dict[str, Any], validate: bool) -> dict[str, Any]:
        self.state.ops.lenient = not validate
        try:
            return self._apply(obj)
        finally:
            self.state.ops.lenient = False

    def _apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        t = self._type(obj.get("apiVersion", "v1"), obj["kind"])
        ns = obj.get("metadata", {}).get("namespace", "default") if t.namespaced else ""
        name = obj["metadata"]["name"]
        ops = self.state.ops
        obj.get("metadata", {}).pop("resourceVersion", None)
        if ops.read(t, ns, name) is None:
            stored = ops.create(t, ns, obj)
        else:
            stored = ops.update(t, ns, name, obj)
        if t.status and "status" in obj:
            status_body = {"metadata": {"name": name}, "status": obj["status"]}
            stored = ops.update(t, ns, name, status_body, "status")
        return stored

    def get(self, api_version: str, kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            t = self._type(api_version, kind)
            return self.state.ops.read(t, namespace, name)

        return self.call(read)

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> builtins.list[dict[str, Any]]:
        return self.call(lambda: self.state.ops.list_view(self._type(api_version, kind), namespace))

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "default") -> bool:
        def remove() -> bool:
            t = self._type(api_version, kind)
            try:
                self.state.ops.delete(t, namespace if t.namespaced else "", name)
            except ApiError as exc:
                if exc.code != 404:
                    raise
                return False
            return True

        return self.call(remove)

    # ---- the stand-in Deployment controller and the proxies ---------------------------------------------------

    @property
    def clock(self) -> VirtualClock:
        """The server's time (creationTimestamp, conditions, progress deadlines): `clock.advance(seconds)`."""
        return self.state.clock

    def settle(self) -> int:
        """Run the Deployment/ReplicaSet controller to a fixed point and count one readiness step."""
        controller: DeploymentController = self.state.controller
        return self.call(controller.settle)

    @property
    def controller_errors(self) -> builtins.list[Exception]:
        return list(self.state.controller.errors)

    def set_image_readiness(self, image: str, after_steps: int | None = 0) -> None:
        """Pods running `image` turn Ready `after_steps` controller steps after creation; None: never."""
        self.call(self.state.controller.readiness.by_image.__setitem__, image, after_steps)

    def set_default_readiness(self, after_steps: int | None = 0) -> None:
        self.call(setattr, self.state.controller.readiness, "default_after", after_steps)

    def set_image_health(self, image: str, healthy: bool) -> None:
        """What the default pod proxy handler answers on /health for `image`: 200 "OK" or 503."""
        self.call(self.state.proxy.image_health.__setitem__, image, healthy)

    def set_pod_handler(self, image: str, handler: Handler) -> None:
        """Answer pod proxy requests for pods running `image`: handler(method, path, query, body) ->
        (status, body[, content_type])."""
        self.call(self.state.proxy.pod_handlers.__setitem__, image, handler)

    def set_service_handler(self, namespace: str, name: str, handler: Handler) -> None:
        self.call(self.state.proxy.service_handlers.__setitem__, (namespace, name), handler)

    def install_flagger_loadtester(
        self, namespace: str = "test", name: str = "flagger-loadtester", port: int = 80
    ) -> FlaggerLoadTester:
        """A Service `name` (port → 8080) in `namespace` (created if missing) answered by a FlaggerLoadTester."""
        if self.get("v1", "Namespace", namespace, "") is None:
            self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        self.apply(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
                "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": 8080}]},
            }
        )
        tester = FlaggerLoadTester()
        self.set_service_handler(namespace, name, tester)
        return tester

    # ---- faults --------------------------------------------------------------------------------------------

    def set_reachable(self, reachable: bool) -> None:
        """False: the port refuses new connections and open ones (watches, keep-alive) are reset."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._set_reachable(reachable), self._loop).result(10)

    async def _set_reachable(self, reachable: bool) -> None:
        self.state.reachable = reachable
        if not reachable:
            for request in list(self.state.open_streams.values()):
                if request.transport is not None:
                    request.transport.abort()
            if self._site is not None:
                site, self._site = self._site, None
                await site.stop()
        elif self._site is None:
            await self._listen()

    def set_latency(self, seconds: float) -> None:
        self.state.latency = seconds

    def stall_watches(self, stalled: bool = True) -> None:
        """Keep watch streams open but send nothing (no events, no bookmarks) until called with False."""
        self.state.stalled = stalled

    def compact(self) -> None:
        """Drop the event history: watches from any earlier resourceVersion get 410 Expired."""
        self.call(self.state.store.compact)

    @property
    def resource_version(self) -> str:
        return str(self.state.store.rv)

    @property
    def requests(self) -> builtins.list[RequestRecord]:
        return self.call(lambda: list(self.state.requests))

    def clear_requests(self) -> None:
        self.call(self.state.requests.clear)
