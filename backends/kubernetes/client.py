"""Connecting: kubeconfig (`--kubeconfig`, `$KUBECONFIG` with several paths, `--context`) or the
in-cluster service account, and `Api`, the few raw calls every other module makes.

Requests go through kubernetes-asyncio's `ApiClient` (its auth, TLS and proxy handling) with
JSON bodies in and out, so objects stay the dicts the API documents. Credentials that expire (an
exec plugin's token, a token file, the in-cluster service account's projected token) are renewed
by a `credentials.Refresher` on the configuration; a 401 renews them once and sends the request again.
An exec plugin's client certificate is renewed the same way, and also when the server closes the
connection of a read without answering (how a TLS handshake that refused the certificate shows: the read
is sent once more); each new one gets a new connection pool. The pool it replaced is kept (a watch stream
opened on it goes on until it ends) until the next renewal or `Api.close`; older ones are closed then.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from backends.base import BackendError
from backends.kubernetes import credentials
from backends.kubernetes.errors import NAME, What, from_status, translate

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


class NoCluster(BackendError):
    """No kubeconfig and not in a Pod: nothing to connect to."""


@dataclass(frozen=True)
class Where:
    """What the header shows about the connection."""

    context: str
    cluster: str
    namespace: str  # the context's default namespace
    server: str
    in_cluster: bool = False


def kubeconfig_paths(explicit: str | None, env: Mapping[str, str]) -> str | None:
    """The kubeconfig path list kubectl would read, or None when there is none (then: in-cluster)."""
    if explicit:
        return explicit
    if env.get("KUBECONFIG"):
        return env["KUBECONFIG"]
    default = Path("~/.kube/config").expanduser()
    return str(default) if default.is_file() else None


async def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    env: Mapping[str, str] | None = None,
    sa_dir: Path = SA_DIR,
) -> tuple[Any, Where]:
    """A client `Configuration` and where it points; `NoCluster` with one sentence when there is none.
    (The `ApiClient` itself is made by `Api` inside the event loop that uses it.)"""
    from kubernetes_asyncio import client
    from kubernetes_asyncio.config import ConfigException
    from kubernetes_asyncio.config.kube_config import KubeConfigLoader, KubeConfigMerger

    env = os.environ if env is None else env
    paths = kubeconfig_paths(kubeconfig, env)
    cfg = client.Configuration()
    if paths is None:
        return await _in_cluster(cfg, env, sa_dir)
    missing = [p for p in paths.split(os.pathsep) if p and not Path(p).expanduser().exists()]
    if missing and len(missing) == len([p for p in paths.split(os.pathsep) if p]):
        raise NoCluster(
            NAME,
            f"No kubeconfig at {paths}; point --kubeconfig or $KUBECONFIG at one, "
            "or try `shiftroom demo` for the simulator.",
        )
    try:
        merged = KubeConfigMerger(paths)
        loader = KubeConfigLoader(config_dict=merged.config, config_base_path=None, active_context=context)
        await loader.load_and_set(cfg)
        current = loader.current_context or {}
        credentials.from_kubeconfig(cfg, merged, current, getattr(loader, "exec_plugin_expiry", None))
    except (ConfigException, KeyError, TypeError, ValueError, OSError) as exc:
        what = f"context {context!r}" if context else "the current context"
        raise NoCluster(NAME, f"Cannot use {what} of {paths}: {' '.join(str(exc).split())[:200]}.") from None
    ctx = current.get("context", {}) or {}
    where = Where(
        context=str(current.get("name", context or "")),
        cluster=str(ctx.get("cluster", "")),
        namespace=str(ctx.get("namespace") or "default"),
        server=str(cfg.host),
    )
    return cfg, where


async def _in_cluster(cfg: Any, env: Mapping[str, str], sa_dir: Path) -> tuple[Any, Where]:
    from kubernetes_asyncio.config import ConfigException
    from kubernetes_asyncio.config.incluster_config import load_incluster_config

    if not env.get("KUBERNETES_SERVICE_HOST"):
        raise NoCluster(
            NAME,
            "No kubeconfig found (~/.kube/config, $KUBECONFIG) and not running in a Pod; "
            "pass --kubeconfig, or try `shiftroom demo` for the simulator.",
        )
    try:
        load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=cfg,
            token_filename=str(sa_dir / "token"),
            cert_filename=str(sa_dir / "ca.crt"),
            environ=dict(env),
        )
    except ConfigException as exc:
        raise NoCluster(NAME, f"In-cluster configuration failed: {exc}.") from None
    # The projected token rotates: read again every minute (the library's own hook does too), and on a 401.
    credentials.install(cfg, credentials.FileSource(sa_dir / "token"))
    try:
        namespace = (sa_dir / "namespace").read_text(encoding="utf-8").strip() or "default"
    except OSError:
        namespace = "default"
    where = Where(
        context="in-cluster", cluster="in-cluster", namespace=namespace, server=str(cfg.host), in_cluster=True
    )
    return cfg, where


@dataclass(frozen=True)
class _Request:
    """One request as it is sent (and sent again after a 401)."""

    method: str
    path: str
    what: What
    query: tuple[tuple[str, Any], ...]
    headers: dict[str, str]
    body: Any
    timeout: Any  # seconds, or an aiohttp.ClientTimeout (watch streams)


class _TlsRejected(Exception):
    """The server closed the connection without answering: how a TLS handshake that refused the client
    certificate shows to asyncio (TLS 1.3 sends its alert after the client's side of the handshake)."""


def _closed_unanswered(exc: BaseException) -> bool:
    import aiohttp

    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError | ConnectionResetError | aiohttp.ServerDisconnectedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Api:
    """JSON requests and watch streams over one `ApiClient`; failures are `BackendError`s."""

    def __init__(self, configuration: Any, server: str = "", timeout: float = 10.0) -> None:
        self.configuration = configuration
        self._client: Any = None  # made on first use, in the loop that uses it
        self._cert_generation = 0  # the client certificate the client's pool was built with
        self._retired: list[Any] = []  # the pool built with the previous client certificate (at most one)
        self._closing: set[asyncio.Future[Any]] = set()  # older pools being closed
        self.server = server or str(getattr(configuration, "host", ""))
        self.timeout = timeout
        self.identity = ""  # filled once known (SelfSubjectReview), for 403 sentences
        self.requests = 0  # every request sent, for the tests and the bench
        self.reauthentications = 0  # 401s answered by renewing the credential and sending again

    async def call(
        self,
        method: str,
        path: str,
        what: What,
        *,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
        patch: str | None = None,
        text: bool = False,
    ) -> Any:
        """One request; the decoded JSON body (or the text with `text=True`)."""
        headers = {"Accept": "application/json" if not text else "*/*"}
        if body is not None:
            headers["Content-Type"] = PATCH_TYPES[patch] if patch else "application/json"
        resp = await self._send(method, path, what, query, headers, body)
        try:
            data = await resp.read()
            status = resp.status
        except Exception as exc:
            raise translate(exc, what, self.identity, self.server) from None
        finally:
            resp.release()
        if not 200 <= status <= 299:
            raise from_status(status, data, what, self.identity)
        raw = data.decode("utf-8", "replace")
        if text:
            return raw
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise BackendError(
                NAME, f"The API server answered {what.verb} {what.obj} with something that is not JSON."
            ) from None

    async def raw(self, method: str, path: str, what: What, body: Any = None) -> tuple[int, str]:
        """(status, text) whatever the status: for the proxy subresource."""
        headers = {"Accept": "*/*"}
        if body is not None:
            headers["Content-Type"] = "application/json" if not isinstance(body, bytes) else "application/octet-stream"
        resp = await self._send(method, path, what, (), headers, body, reauth=False)  # a 401 may be the pod's
        try:
            data = await resp.read()
            return resp.status, data.decode("utf-8", "replace")
        except Exception as exc:
            raise translate(exc, what, self.identity, self.server) from None
        finally:
            resp.release()

    async def stream(self, path: str, what: What, query: Sequence[tuple[str, Any]], read_timeout: float) -> Any:
        """An open watch response (an aiohttp response): the caller reads lines and releases it."""
        import aiohttp

        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.timeout, sock_connect=self.timeout, sock_read=read_timeout
        )
        resp = await self._send("GET", path, what, query, {"Accept": "application/json"}, None, timeout)
        if not 200 <= resp.status <= 299:
            try:
                data = await resp.read()
            finally:
                resp.release()
            raise from_status(resp.status, data, what, self.identity)
        return resp

    async def _send(
        self,
        method: str,
        path: str,
        what: What,
        query: Sequence[tuple[str, Any]],
        headers: dict[str, str],
        body: Any,
        timeout: Any = None,
        *,
        reauth: bool = True,
    ) -> Any:
        """One request; a 401 renews a refreshable credential once and sends the request again."""
        request = _Request(method, path, what, tuple(query), headers, body, timeout or self.timeout)
        refresher = credentials.refresher_of(self.configuration)
        certificate = refresher is not None and refresher.certificate
        if refresher is not None and certificate:
            await refresher.ensure()  # no bearer token: the library's hook is not asked
        generation = refresher.generation if refresher is not None else 0
        try:
            resp = await self._send_once(request, tls_retry=certificate and method in ("GET", "HEAD"))
        except _TlsRejected:
            resp = None  # perhaps the handshake refused the certificate: renew it once, and read again
        if resp is not None and (refresher is None or not reauth or resp.status != 401):
            return resp
        assert refresher is not None
        if resp is not None:
            resp.release()
        await refresher.force(generation)  # a plugin that fails: its sentence
        self.reauthentications += 1
        return await self._send_once(request)

    async def _send_once(self, r: _Request, tls_retry: bool = False) -> Any:
        self.requests += 1
        try:
            if isinstance(r.body, bytes) and "json" in r.headers.get("Content-Type", ""):
                return await self._send_bytes(r)
            return await self.client().call_api(
                r.path,
                r.method,
                query_params=list(r.query),
                header_params=r.headers,
                body=r.body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=r.timeout,
            )
        except Exception as exc:
            if tls_retry and _closed_unanswered(exc):
                raise _TlsRejected from None
            raise translate(exc, r.what, self.identity, self.server) from None

    async def _send_bytes(self, r: _Request) -> Any:
        """A JSON body sent exactly as given (the client library would re-encode it): the same
        connection pool and credentials as every other request."""
        import aiohttp

        client = self.client()
        await client.update_params_for_auth(r.headers, [], ["BearerToken"])
        url = self.configuration.host + r.path + (f"?{urlencode(list(r.query))}" if r.query else "")
        limit = r.timeout if isinstance(r.timeout, aiohttp.ClientTimeout) else aiohttp.ClientTimeout(total=r.timeout)
        proxy = getattr(self.configuration, "proxy", None) or None
        return await client.rest_client.pool_manager.request(
            r.method, url, data=r.body, headers=r.headers, timeout=limit, proxy=proxy
        )

    def client(self) -> Any:
        refresher = credentials.refresher_of(self.configuration)
        generation = refresher.cert_generation if refresher is not None else 0
        if self._client is None:
            from kubernetes_asyncio.client import ApiClient

            self._client = ApiClient(configuration=self.configuration)
        elif generation != self._cert_generation:
            from kubernetes_asyncio.client.rest import RESTClientObject

            # a new client certificate: new connections, with it (the library reads the files once per pool)
            self._retire(self._client.rest_client)
            self._client.rest_client = RESTClientObject(self.configuration)
        self._cert_generation = generation
        return self._client

    def _retire(self, pool: Any) -> None:
        """Keep the pool just replaced (a watch started on it may still be reading) and close the ones before it:
        they are a whole certificate lifetime old, and every request sent on them has ended since."""
        self._retired.append(pool)
        while len(self._retired) > 1:
            closing = asyncio.ensure_future(self._retired.pop(0).close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        await asyncio.gather(*self._closing, return_exceptions=True)
        retired, self._retired = self._retired, []
        for pool in retired:
            await pool.close()
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
