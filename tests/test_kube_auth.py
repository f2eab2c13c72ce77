"""Credentials that expire during a long session, on the test API server with the real client.

- a kubeconfig `exec` plugin (tests/exec_credential.py) whose credential has a short
  `expirationTimestamp`: it is run again before it expires, so no request is ever refused;
- a credential the server stops accepting (401 Status): one re-authentication for every request
  that failed with it, and each is sent once more (lists, watches, writes alike);
- a plugin that fails: one sentence;
- a kubeconfig `tokenFile` and the in-cluster service account's token file: read again every
  minute (as client-go does), and at once on a 401.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from backends.kubernetes.client import Api, connect
from backends.kubernetes.credentials import ExecSource, FileSource, Refresher, refresher_of
from backends.kubernetes.errors import Unauthorized, What
from backends.kubernetes.resources import DEPLOYMENTS, SERVICES
from tests.kubeapi.rbac import SUPERUSER_GROUP

PLUGIN = Path(__file__).parent / "exec_credential.py"


def _kubeconfig(server: Any, path: Path, user: dict[str, Any]) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubeapi-test", "cluster": {"server": server.url}}],
        "users": [{"name": "robot", "user": user}],
        "contexts": [{"name": "test", "context": {"cluster": "kubeapi-test", "user": "robot", "namespace": "default"}}],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def _exec_user(state: Path) -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(PLUGIN), str(state)],
            "env": [{"name": "SHIFTROOM_TEST_PLUGIN", "value": "1"}],
            "interactiveMode": "Never",
        }
    }


def _runs(state: Path) -> int:
    return int((state / "runs").read_text()) if (state / "runs").exists() else 0


async def _list(api: Api) -> dict[str, Any]:
    body: dict[str, Any] = await api.call("GET", DEPLOYMENTS.path("default"), What("list", DEPLOYMENTS, "default"))
    return body


def _statuses(server: Any) -> list[tuple[int, str]]:
    return [(r.status, r.user) for r in server.requests]


async def _exec_api(server: Any, tmp_path: Path, lifetime: float | None) -> tuple[Api, Path]:
    state = tmp_path / "plugin"
    state.mkdir()
    if lifetime is not None:
        (state / "lifetime").write_text(str(lifetime))
    server.accept_issued_tokens(state / "issued.jsonl", "robot", groups=[SUPERUSER_GROUP])
    cfg, where = await connect(str(_kubeconfig(server, tmp_path / "kubeconfig", _exec_user(state))), env={})
    return Api(cfg, where.server), state


async def test_an_expiring_exec_credential_is_renewed_before_it_expires(kube_api: Any, tmp_path: Path) -> None:
    api, state = await _exec_api(kube_api, tmp_path, lifetime=3.0)
    try:
        refresher = refresher_of(api.configuration)
        assert refresher is not None and isinstance(refresher.source, ExecSource)
        assert _runs(state) == 1 and refresher.expiry is not None  # connect ran it, and knows its expiry
        kube_api.clear_requests()
        deadline = time.monotonic() + 8.0  # well past two lifetimes of a credential
        while time.monotonic() < deadline:
            await _list(api)
            await asyncio.sleep(0.25)
        assert _runs(state) >= 3, _runs(state)  # renewed at least twice
        assert {s for s, _ in _statuses(kube_api)} == {200}  # never refused: renewed before expiry
        assert api.reauthentications == 0
        info = json.loads((state / "exec_info.json").read_text())
        assert info["kind"] == "ExecCredential" and info["spec"]["interactive"] is False
        kube_api.revoke_token(f"exec-{_runs(state) - 1}")  # the previous credential: no longer in use
        await _list(api)
    finally:
        await api.close()


async def test_a_401_renews_once_and_every_refused_request_is_sent_again(kube_api: Any, tmp_path: Path) -> None:
    api, state = await _exec_api(kube_api, tmp_path, lifetime=None)  # no expiry: valid until revoked
    try:
        await _list(api)
        assert _runs(state) == 1
        kube_api.revoke_token("exec-1")
        kube_api.clear_requests()
        watch = [("watch", "true"), ("resourceVersion", kube_api.resource_version), ("timeoutSeconds", 1)]
        stream = api.stream(SERVICES.path("default"), What("watch", SERVICES, "default"), watch, read_timeout=5)
        created = api.call(
            "POST",
            SERVICES.path("default"),
            What("create", SERVICES, "default", "shop"),
            body={
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "shop"},
                "spec": {"ports": [{"port": 80}]},
            },
        )
        got = await asyncio.gather(_list(api), _list(api), _list(api), stream, created)
        got[3].release()
        assert _runs(state) == 2  # one re-authentication for the five refused requests
        plain = [(r.status, r.user) for r in kube_api.requests if "watch" not in r.query]
        assert sorted(plain) == [(200, "robot")] * 3 + [(201, "robot")] + [(401, "")] * 4
        watches = [(r.status, r.user) for r in kube_api.requests if "watch" in r.query]
        assert watches[0] == (401, "") and watches[1][1] == "robot" and len(watches) == 2  # (still open: no status)
        assert api.reauthentications == 5
        assert got[4]["metadata"]["name"] == "shop"  # the create was sent again, once: it exists once
        assert kube_api.get("v1", "Service", "shop") is not None
    finally:
        await api.close()


async def test_a_plugin_that_fails_is_one_sentence(kube_api: Any, tmp_path: Path) -> None:
    api, state = await _exec_api(kube_api, tmp_path, lifetime=None)
    try:
        kube_api.revoke_token("exec-1")
        (state / "fail").write_text("error: the SSO session has expired; run `aws sso login`")
        with pytest.raises(Unauthorized) as err:
            await _list(api)
        sentence = str(err.value)
        assert (
            sentence.startswith("The kubeconfig exec plugin 'python")
            and "exited with code 1" in sentence
            and "aws sso login" in sentence
        )
        assert "\n" not in sentence
    finally:
        await api.close()


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


async def test_a_token_file_is_read_again_every_minute_and_on_a_401(kube_api: Any, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(kube_api.add_user("sa-1", [SUPERUSER_GROUP], token="file-1") + "\n")
    kubeconfig = _kubeconfig(kube_api, tmp_path / "kubeconfig", {"tokenFile": "token"})  # relative to the file
    cfg, where = await connect(str(kubeconfig), env={})
    api = Api(cfg, where.server)
    refresher = refresher_of(cfg)
    assert refresher is not None and isinstance(refresher.source, FileSource)
    assert refresher.source.path == token and refresher.source.period == 60
    clock = refresher.now = Clock()
    try:
        kube_api.clear_requests()
        await _list(api)
        token.write_text(kube_api.add_user("sa-2", [SUPERUSER_GROUP], token="file-2"))  # the kubelet rotates it
        await _list(api)  # within the minute: the token read before
        clock.t += 61
        await _list(api)  # a minute later: the new one, with no refusal
        assert _statuses(kube_api) == [(200, "sa-1"), (200, "sa-1"), (200, "sa-2")]
        kube_api.clear_requests()
        token.write_text(kube_api.add_user("sa-3", [SUPERUSER_GROUP], token="file-3"))
        kube_api.revoke_token("file-2")  # revoked before the minute is up: the 401 makes it read at once
        await _list(api)
        assert _statuses(kube_api) == [(401, ""), (200, "sa-3")]
    finally:
        await api.close()


async def test_in_cluster_the_projected_token_is_read_again(kube_api: Any, tmp_path: Path) -> None:
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(kube_api.add_user("system:serviceaccount:default:room", [SUPERUSER_GROUP], token="sa-1"))
    (sa / "ca.crt").write_text("not a real CA: the test API server speaks plain HTTP\n")
    (sa / "namespace").write_text("default")
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(kube_api.port)}
    cfg, where = await connect(None, env=env, sa_dir=sa)
    assert where.in_cluster and where.namespace == "default"
    refresher = refresher_of(cfg)
    assert refresher is not None and isinstance(refresher.source, FileSource) and refresher.source.path == sa / "token"
    cfg.host, cfg.ssl_ca_cert = kube_api.url, None  # in a Pod it is https with the cluster's CA
    api = Api(cfg, kube_api.url)
    clock = refresher.now = Clock()
    try:
        kube_api.clear_requests()
        await _list(api)
        (sa / "token").write_text(kube_api.add_user("rotated", [SUPERUSER_GROUP], token="sa-2"))
        clock.t += 61
        await _list(api)
        assert [u for _, u in _statuses(kube_api)] == ["system:serviceaccount:default:room", "rotated"]
    finally:
        await api.close()


async def test_a_credential_still_valid_is_kept_while_renewal_fails(tmp_path: Path) -> None:
    """Between the renewal point and the expiry, a failing plugin does not stop requests; at expiry it does."""
    clock = Clock()
    state = tmp_path / "plugin"
    state.mkdir()
    (state / "fail").write_text("offline")
    source = ExecSource(command=sys.executable, args=[str(PLUGIN), str(state)])
    refresher = Refresher(source, "Bearer held", expiry=clock.t + 100, now=clock)

    class Cfg:
        api_key: dict[str, str] = {}

    clock.t += 95  # inside the skew: due, the renewal fails, the held token still works
    await refresher(Cfg())
    assert Cfg.api_key["BearerToken"] == "Bearer held" and refresher.due()
    clock.t += 10  # expired
    with pytest.raises(Unauthorized) as err:
        await refresher(Cfg())
    assert "offline" in str(err.value)
