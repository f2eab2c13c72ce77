"""Flagger load tester gates: which webhooks are gates, where the proxy reaches them, what the room says."""

from __future__ import annotations

from app.foreign.gates import gate_body, gate_plan
from app.model import HookType, Webhook


def hook(kind: HookType, url: str, name: str = "gate") -> Webhook:
    return Webhook(name=name, type=kind, url=url)


def test_confirm_and_rollback_webhooks_become_gates_through_the_service_proxy() -> None:
    plan = gate_plan(
        "podinfo",
        "test",
        (
            hook(HookType.CONFIRM_ROLLOUT, "http://flagger-loadtester.test/gate/check", "ask"),
            hook(HookType.CONFIRM_PROMOTION, "http://flagger-loadtester.test/gate/check", "promotion gate"),
            hook(HookType.ROLLBACK, "http://flagger-loadtester.test.svc.cluster.local:8080/rollback/check", "rollback"),
            hook(HookType.ROLLOUT, "http://flagger-loadtester.test/", "load-test"),
        ),
    )
    promotion, rollback = plan.gates
    # confirm-rollout and confirm-promotion share the load tester's one gate per canary.
    assert (promotion.kind, promotion.service, promotion.namespace, promotion.port) == (
        "promotion",
        "flagger-loadtester",
        "test",
        "80",
    )
    assert promotion.hooks == ("confirm-rollout 'ask'", "confirm-promotion 'promotion gate'")
    assert (promotion.path("open"), promotion.path("close"), promotion.path("check")) == (
        "/gate/open",
        "/gate/close",
        "/gate/check",
    )
    assert (rollback.kind, rollback.port, rollback.path("open"), rollback.path("close")) == (
        "rollback",
        "8080",
        "/rollback/open",
        "/rollback/close",
    )
    assert plan.problems == () and plan.fixed == ()
    assert plan.summary == (
        "Canary test/podinfo: from the room you can suspend and resume it (spec.suspend), skip its analysis "
        "(spec.skipAnalysis), open and close its promotion gate, open and close its rollback gate."
    )


def test_the_body_is_the_one_flaggers_docs_send_with_curl() -> None:
    # docs/gitbook/usage/webhooks.md: curl -d '{"name": "podinfo","namespace":"test"}' .../gate/open
    assert gate_body("podinfo", "test") == b'{"name": "podinfo","namespace":"test"}'
    assert gate_body('we"ird', "t") == b'{"name": "we\\"ird","namespace":"t"}'


def test_the_seed_canary_has_no_gates_and_says_what_can_and_cannot_be_done() -> None:
    plan = gate_plan(
        "microservices-canary", "microservices", (hook(HookType.ROLLOUT, "http://load-tester.test/", "load-test"),)
    )
    assert plan.gates == ()
    assert plan.summary == (
        "Canary microservices/microservices-canary: from the room you can suspend and resume it (spec.suspend), "
        "skip its analysis (spec.skipAnalysis); you cannot approve a step or the promotion (no confirm webhook at "
        "the load tester's /gate/check) or roll it back by hand (no rollback webhook at /rollback/check)."
    )


def test_fixed_gates_and_unreachable_ones_are_named() -> None:
    plan = gate_plan(
        "podinfo",
        "test",
        (
            hook(HookType.CONFIRM_PROMOTION, "http://flagger-loadtester.test/gate/halt", "hold"),
            hook(HookType.CONFIRM_ROLLOUT, "http://flagger-loadtester/gate/check", "bare"),
            hook(HookType.ROLLBACK, "https://lt.ops:9443/prefix/rollback/check", "tls"),
        ),
    )
    assert plan.fixed == (
        "confirm-promotion webhook 'hold' is always closed "
        "(http://flagger-loadtester.test/gate/halt): edit the Canary to change it.",
    )
    assert len(plan.problems) == 1 and "names no namespace" in plan.problems[0]
    (tls,) = plan.gates
    assert (tls.service, tls.namespace, tls.port, tls.path("open")) == (
        "lt",
        "ops",
        "https:9443",
        "/prefix/rollback/open",
    )
    assert plan.summary.endswith("; 1 gate webhook(s) cannot be reached.")
