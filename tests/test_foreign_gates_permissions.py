"""A Flagger Canary's gates go through the API server's proxy to the load tester's Service (POST: `create`
on `services/proxy`, in the load tester's namespace, not the Canary's). That permission is asked before the
gate keys are offered, like every other write: an identity that may not sees `g`, `G`, `p` and `a` on the
Canary disabled with the sentence a 403 would get, and pressing them sends nothing; one that may drives
them. The question and its sentence are the real ones (SelfSubjectAccessReview on the test API server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.control.access_needs import foreign_needs, row_needs
from app.model import Rollout
from app.screens.confirm import ConfirmScreen
from backends.base import AccessAnswer, AccessCheck
from backends.kubernetes import doctor
from tests import test_foreign_keys as fk
from tests.kube_helpers import make_cluster

GATES = {"promotion": "test/flagger-loadtester", "rollback": "test/flagger-loadtester"}
PROXY = AccessCheck(verb="create", kind="Service", namespace="test", sub="proxy")
NO_PROXY = (
    "dev may not create services/proxy in namespace test; grant it (deploy/rbac.yaml) or open the room --read-only."
)


def test_the_gate_verbs_need_create_on_the_load_testers_services_proxy() -> None:
    canary = Rollout(name="podinfo", namespace="microservices", driven_by="flagger", gates=("promotion", "rollback"))
    assert foreign_needs(canary, "close-gate") == ()  # the row names no load tester: nothing to ask
    canary = canary.model_copy(update={"gate_services": GATES})
    needs = row_needs(canary)
    for verb in ("promote", "step", "abort", "open-gate", "close-gate"):
        assert needs[verb] == (PROXY,), verb
    assert needs["skip-analysis"][0].kind == "Canary"  # the Canary's own patch, as before
    split = canary.model_copy(update={"gate_services": {"promotion": "a/gate", "rollback": "b/gate"}})
    assert [c.namespace for c in foreign_needs(split, "close-gate")] == ["a", "b"]  # g and G: either gate
    assert [c.namespace for c in foreign_needs(split, "abort")] == ["b"]


async def test_the_review_asks_services_proxy_and_a_denial_names_verb_resource_namespace_identity(
    kube_api: Any, tmp_path: Path
) -> None:
    kube_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test"}})
    kube_api.grant("dev", "view")  # the documented `view` role: no services/proxy
    kube_api.grant("ops", "edit", namespace="test")  # `edit` has services/proxy
    kubeconfig = kube_api.write_kubeconfig(
        tmp_path / "kc", contexts={"dev": ("dev", "default"), "ops": ("ops", "test")}
    )
    for context, allowed in (("dev", False), ("ops", True)):
        cluster = await make_cluster(kubeconfig, context=context, namespaces=["test"])
        try:
            answers = await cluster.review_access([PROXY])
        finally:
            await cluster.close()
        assert answers[PROXY].allowed is allowed and answers[PROXY].resource == "services/proxy"
        assert answers[PROXY].sentence == ("" if allowed else NO_PROXY)
    row = next(n for n in doctor.OPERATOR if n.res.plural == "services" and n.sub == "proxy")
    assert "create" in row.verbs and "gates" in row.why  # the doctor's table and deploy/rbac.yaml grant it


class _Review(fk.GatedCluster):
    allowed = True

    async def review_access(self, checks: Any) -> dict[Any, Any]:
        return {c: AccessAnswer(allowed=self.allowed or c.sub != "proxy", sentence=NO_PROXY) for c in checks}


class _Denied(_Review):
    allowed = False


@pytest.mark.parametrize("review", [_Denied, _Review], ids=["forbidden", "allowed"])
async def test_the_gate_keys_are_disabled_with_the_reason_for_an_identity_that_may_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, review: type[_Review]
) -> None:
    monkeypatch.setattr(fk, "GatedCluster", review)
    app, engine, cluster, clock = fk.room(tmp_path, [fk.gated_canary()])
    async with app.run_test(size=fk.SIZE) as pilot:
        screen = await fk.select(app, engine, clock, fk.CANARY)
        await pilot.pause()
        row = engine.state.rollout(fk.CANARY)
        assert row is not None and row.gate_services == GATES
        active = screen.active_bindings
        if review.allowed:
            assert not {"close-gate", "promote", "abort"} & set(row.denied)
            assert active["g"].enabled and active["G"].enabled
            await pilot.press("g")
            await fk.settled(app, engine, clock)
            assert cluster.calls == [("test", "flagger-loadtester", "/gate/close", "POST")]
            return
        assert {v: row.denied.get(v) for v in ("close-gate", "promote", "step", "abort")} == dict.fromkeys(
            ("close-gate", "promote", "step", "abort"), NO_PROXY
        )
        assert "skip-analysis" not in row.denied  # a Canary patch: still allowed
        for key in ("g", "G", "p", "a"):
            assert not active[key].enabled and active[key].tooltip == f"not allowed: {NO_PROXY}", key
        assert active["S"].enabled
        for key in ("g", "G", "p"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen) and not screen.busy
        await fk.settled(app, engine, clock)
        assert cluster.calls == []  # no gate call went out
        assert sum(n.message == NO_PROXY for n in app._notifications) == 3
