"""`shiftroom doctor` and deploy/rbac.yaml: one list of verbs, checked with SelfSubjectAccessReviews."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from backends.kubernetes import discovery, doctor
from backends.kubernetes.permissions import grants
from tests.kube_helpers import Env, env_fixture

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
    await env.install_crds("istio", "flagger")
    for role in _roles():
        await env.apply(role)  # cluster-scoped: the same ClusterRoles for every test
    op_kc, op_user = await env.identity("op", "shiftroom-operator", tmp_path / "op")
    ro_kc, ro_user = await env.identity("ro", "shiftroom-viewer", tmp_path / "ro")
    op = await env.make_cluster(op_kc)
    ro = await env.make_cluster(ro_kc)
    ns = [env.namespace]
    try:
        report = await doctor.run(op.api, ns)
        assert report.identity == op_user and report.ok, report.missing
        crds = {c.crd: c.installed for c in report.crds}
        assert crds["virtualservices.networking.istio.io"] and crds["canaries.flagger.app"]
        for _, res in doctor.CRDS:  # what discovery says, whichever others the cluster has
            assert crds[res.crd] == await discovery.served(env.cluster.api, res), res.crd
        if env.server is not None:
            assert not crds["httproutes.gateway.networking.k8s.io"] and not crds["rollouts.argoproj.io"]
        viewer = await doctor.run(ro.api, ns)
        assert not viewer.ok
        missing = {(r.verb, r.resource) for r in viewer.missing}
        assert ("patch", "deployments.apps") in missing and ("create", "leases.coordination.k8s.io") in missing
        assert not any(r.verb in ("get", "list", "watch") and "/" not in r.resource for r in viewer.missing)
        assert (await doctor.run(ro.api, ns, read_only=True)).ok  # enough for a read-only room
        js = viewer.to_json()
        assert js["identity"] == ro_user and js["ok"] is False and js["permissions"]
    finally:
        await op.close()
        await ro.close()
