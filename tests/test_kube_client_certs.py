"""An exec plugin that returns client certificates, on the test API server over TLS, with the real client.

The server (tests/kubeapi, `tls=`) authenticates client certificates its CA signed: CN the user, O the
groups; an expired one fails the TLS handshake, and a kept-alive connection whose certificate has expired
(or was revoked) gets 401. The plugin (tests/exec_credential.py with `ca`) returns a new short-lived
certificate on every run.
"""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from backends.kubernetes.client import Api, connect
from backends.kubernetes.client_certs import not_after
from backends.kubernetes.credentials import ExecSource, Refresher, refresher_of
from backends.kubernetes.errors import Unauthorized, What
from backends.kubernetes.resources import DEPLOYMENTS
from tests.kubeapi.certs import CertAuthority, serial_of

PLUGIN = Path(__file__).parent / "exec_credential.py"


@pytest.fixture
def tls_api(kube_api_factory: Any, tmp_path: Path) -> tuple[Any, CertAuthority]:
    ca = CertAuthority.create(tmp_path / "ca")
    return kube_api_factory(tls=ca), ca


async def _connect(server: Any, ca: CertAuthority, tmp_path: Path, lifetime: float) -> tuple[Api, Path]:
    state = tmp_path / "plugin"
    state.mkdir()
    (state / "ca").write_text(str(ca.directory))
    (state / "lifetime").write_text(str(lifetime))
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "tls", "cluster": {"server": server.url, "certificate-authority": str(ca.server_cert)}}],
        "users": [
            {
                "name": "robot",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": sys.executable,
                        "args": [str(PLUGIN), str(state)],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
        "contexts": [{"name": "test", "context": {"cluster": "tls", "user": "robot", "namespace": "default"}}],
        "current-context": "test",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    cfg, where = await connect(str(path), env={})
    return Api(cfg, where.server), state


async def _list(api: Api) -> dict[str, Any]:
    body: dict[str, Any] = await api.call("GET", DEPLOYMENTS.path("default"), What("list", DEPLOYMENTS, "default"))
    return body


def _runs(state: Path) -> int:
    return int((state / "runs").read_text()) if (state / "runs").exists() else 0


def _refresher(api: Api) -> Refresher:
    refresher = refresher_of(api.configuration)
    assert refresher is not None and isinstance(refresher.source, ExecSource) and refresher.certificate
    return refresher


class Frozen:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


async def test_a_client_certificate_is_renewed_before_it_expires(tls_api: Any, tmp_path: Path) -> None:
    server, ca = tls_api
    api, state = await _connect(server, ca, tmp_path, lifetime=3.0)
    try:
        refresher = _refresher(api)
        assert _runs(state) == 1 and refresher.expiry == not_after((state / "cert.pem").read_bytes())
        cert = Path(api.configuration.cert_file)
        assert stat.S_IMODE(cert.stat().st_mode) == 0o600 and stat.S_IMODE(cert.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(Path(api.configuration.key_file).stat().st_mode) == 0o600
        server.clear_requests()
        replaced: list[Any] = []
        retire = api._retire
        api._retire = lambda pool: (replaced.append(pool), retire(pool))[1]  # type: ignore[method-assign]
        deadline = time.monotonic() + 8.0  # well past two lifetimes: the first certificates have expired
        while time.monotonic() < deadline:
            await _list(api)
            await asyncio.sleep(0.25)
        assert _runs(state) >= 3, _runs(state)
        assert {(r.status, r.user) for r in server.requests} == {(200, "robot")}  # never refused
        assert api.reauthentications == 0
        # One pool per certificate: the one in use, the one it replaced (a watch may still read from it);
        # the older ones were closed.
        await asyncio.gather(*api._closing)
        assert len(replaced) >= 2 and api._retired == replaced[-1:]
        assert [p.pool_manager.closed for p in replaced] == [True] * (len(replaced) - 1) + [False]
        assert api._client is not None and not api._client.rest_client.pool_manager.closed
        assert sorted(p.name for p in cert.parent.iterdir()) == [
            Path(api.configuration.cert_file).name,
            Path(api.configuration.key_file).name,
        ]  # only the pair in use is on disk
        refresher.files.remove()
        assert not cert.parent.exists()
    finally:
        await api.close()


async def test_a_revoked_certificate_gets_a_401_and_is_renewed_once(tls_api: Any, tmp_path: Path) -> None:
    server, ca = tls_api
    api, state = await _connect(server, ca, tmp_path, lifetime=3600.0)
    try:
        await _list(api)
        server.revoke_certificate(serial_of((state / "cert.pem").read_bytes()))
        server.clear_requests()
        await asyncio.gather(_list(api), _list(api), _list(api))
        assert _runs(state) == 2  # one renewal for the three refused requests
        assert sorted((r.status, r.user) for r in server.requests) == [(200, "robot")] * 3 + [(401, "")] * 3
    finally:
        await api.close()


async def test_an_expired_certificate_rejected_by_the_handshake_is_renewed(tls_api: Any, tmp_path: Path) -> None:
    server, ca = tls_api
    api, state = await _connect(server, ca, tmp_path, lifetime=2.0)
    refresher = _refresher(api)
    frozen = Frozen()
    frozen.t = refresher._fetched  # the room's clock stops when it got the certificate: it never sees it expire
    refresher.now = frozen
    fresh = Api(api.configuration, api.server)  # a new pool: a new TLS handshake
    try:
        assert refresher.expiry is not None
        await asyncio.sleep(max(0.0, refresher.expiry - time.time()) + 1.0)
        await _list(fresh)
        assert _runs(state) == 2 and fresh.reauthentications == 1
        assert [(r.status, r.user) for r in server.requests] == [(200, "robot")]  # the handshake never got a request
    finally:
        await fresh.close()
        await api.close()


async def test_a_certificate_plugin_that_fails_is_one_sentence(tls_api: Any, tmp_path: Path) -> None:
    server, ca = tls_api
    api, state = await _connect(server, ca, tmp_path, lifetime=3600.0)
    try:
        server.revoke_certificate(serial_of((state / "cert.pem").read_bytes()))
        (state / "fail").write_text("error: no signing certificate for this workstation\nsee the wiki")
        with pytest.raises(Unauthorized) as err:
            await _list(api)
        sentence = str(err.value)
        assert sentence.startswith("The kubeconfig exec plugin 'python") and "exited with code 1" in sentence
        assert "no signing certificate" in sentence and "\n" not in sentence
    finally:
        await api.close()


def test_a_plugin_answer_without_a_usable_credential_is_one_sentence() -> None:
    plugin = ExecSource(command="/usr/local/bin/sso-cert")

    def parse(status: dict[str, str]) -> str:
        out = json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": status})
        with pytest.raises(Unauthorized) as err:
            plugin._parse(out.encode())
        return str(err.value)

    assert parse({"clientCertificateData": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"}) == (
        "The kubeconfig exec plugin 'sso-cert' returned neither a token nor a client certificate with its key."
    )
    assert parse({"clientCertificateData": "garbage", "clientKeyData": "key"}) == (
        "The kubeconfig exec plugin 'sso-cert' returned a clientCertificateData that is not a PEM certificate."
    )
