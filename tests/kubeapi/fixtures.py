"""pytest fixtures for the test Kubernetes API server (registered in tests/conftest.py).

Stable API (other tests code against it):

    def test_x(kube_api):                       # a started KubeApiServer, stopped after the test
        kube_api.url                            # http://127.0.0.1:<port>
        kube_api.kubeconfig                     # Path of a kubeconfig: context "test" → user "admin"
                                                #   (superuser, namespace "default"), current-context "test"
        kube_api.install_crds("flagger", "argo", "istio", "gateway-api", "smi")  # or CRD names; () = all
        token = kube_api.grant("viewer", "view")              # user bound to a ClusterRole (cluster-wide)
        kube_api.grant("ops", "edit", namespace="default")    # ... or by a RoleBinding in one namespace
        kube_api.write_kubeconfig(path, contexts={"test": ("admin", "default"), "ro": ("viewer", "default")})
        kube_api.apply(obj) / .get(api_version, kind, name, ns) / .list(...) / .delete(...)  # no RBAC
        kube_api.requests / .clear_requests()   # RequestRecord(method, path, query, content_type, body, user, status)
        kube_api.set_reachable(False) / .set_latency(s) / .stall_watches(True|False) / .compact()
        kube_api.settle() / .clock.advance(s)   # Deployment controller to a fixed point; virtual time
        kube_api.set_image_readiness(image, after_steps=0 | None)   # None: never ready
        kube_api.set_default_readiness(after_steps)                 # for images not set (default 0)
        kube_api.controller_errors / .resource_version            # controller exceptions; current RV
        kube_api.set_image_health(image, False)                     # /health through the pod proxy → 503
        kube_api.set_pod_handler(image, fn) / .set_service_handler(ns, name, fn)   # proxy answers:
                                                # fn(method, path, query, body) -> (status, body[, content_type])
        tester = kube_api.install_flagger_loadtester("test")        # Service test/flagger-loadtester with
                                                # Flagger's gate endpoints; tester.is_open(name, ns), .tasks

The server has namespaces default, kube-system, kube-public; ClusterRoles cluster-admin, view, edit (the
last two as documented, for the resources served: no Leases, no events.k8s.io, no custom resources);
bookmarks every 0.2 s in this fixture; the Deployment controller runs by itself (reacts to changes, one
readiness step every 0.1 s) -- `kube_api_factory(controller="manual")` leaves it to `settle()`.
`kube_api_factory(**options)` starts more servers with other options (history_window, bookmark_interval,
controller, controller_tick, tls: a `certs.CertAuthority` for HTTPS and client certificates); all are stopped at
teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .server import KubeApiServer


@pytest.fixture
def kube_api_factory(tmp_path: Path) -> Iterator[Callable[..., KubeApiServer]]:
    started: list[KubeApiServer] = []

    def make(**options: Any) -> KubeApiServer:
        options.setdefault("bookmark_interval", 0.2)
        server = KubeApiServer(**options).start()
        started.append(server)
        server.write_kubeconfig(tmp_path / f"kubeconfig-{len(started)}")
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def kube_api(kube_api_factory: Callable[..., KubeApiServer]) -> KubeApiServer:
    return kube_api_factory()
