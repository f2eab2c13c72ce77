"""`shiftroom doctor` and deploy/rbac.yaml: one list of verbs, checked with SelfSubjectAccessReviews."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from backends.kubernetes import doctor
from backends.kubernetes.permissions import grants
from tests.kube_helpers import Env, env_fixture, make_cluster

RBAC = Path(__file__).resolve().parent.parent / "deploy" / "rbac.yaml"


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in env_fixture(request):
        yield e


def role_grants(name: str) -> set[tuple[str, str, str]]:
    docs = [d for d in yaml.safe_load_all(RBAC.read_text()) if d]
    (role,) = [d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == name]
    return {
        (g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]
    }


def test_rbac_file_and_doctor_agree() -> None:
    assert role_grants("shiftroom-operator") == grants()
    assert role_grants("shiftroom-viewer") == grants(read_only=True)
    assert {v for _, _, v in role_grants("shiftroom-viewer")} == {"get", "list", "watch"}


def _roles() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(RBAC.read_text()) if d and d["kind"] == "ClusterRole"]


async def test_doctor_as_operator_and_as_viewer(env: Env, tmp_path: Path) -> None:
    server = env.needs_server()
    server.install_crds("istio", "flagger")
    for role in _roles():
        server.apply(role)
    server.grant("op", "shiftroom-operator")
    server.grant("ro", "shiftroom-viewer")
    kc = server.write_kubeconfig(tmp_path / "kc", contexts={"op": ("op", "default"), "ro": ("ro", "default")})
    op = await make_cluster(kc, context="op")
    ro = await make_cluster(kc, context="ro")
    try:
        report = await doctor.run(op.api, ["default"])
        assert report.identity == "op" and report.ok, report.missing
        crds = {c.crd: c.installed for c in report.crds}
        assert crds["virtualservices.networking.istio.io"] and crds["canaries.flagger.app"]
        assert not crds["httproutes.gateway.networking.k8s.io"] and not crds["rollouts.argoproj.io"]
        viewer = await doctor.run(ro.api, ["default"])
        assert not viewer.ok
        missing = {(r.verb, r.resource) for r in viewer.missing}
        assert ("patch", "deployments.apps") in missing and ("create", "leases.coordination.k8s.io") in missing
        assert not any(r.verb in ("get", "list", "watch") and "/" not in r.resource for r in viewer.missing)
        assert (await doctor.run(ro.api, ["default"], read_only=True)).ok  # enough for a read-only room
        js = viewer.to_json()
        assert js["identity"] == "ro" and js["ok"] is False and js["permissions"]
    finally:
        await op.close()
        await ro.close()
