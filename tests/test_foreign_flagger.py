"""Flagger Canary → the room's view: the seed's canary.yaml walked through the status Flagger writes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from app.foreign.flagger import canary_view, countdown
from app.foreign.flagger_checks import metric_templates, template_key
from app.model import Phase

DATA = Path(__file__).parent / "foreign_data"
T0 = 1_796_000_000.0  # a fixed instant
STAMP = "2026-11-30T00:53:20Z"  # == T0


def seed_canary() -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((DATA / "canary.yaml").read_text())
    return body


def with_status(body: dict[str, Any], **status: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out["status"] = {"lastTransitionTime": STAMP, **status}
    return out


def promoted(status: str, reason: str, message: str) -> list[dict[str, str]]:
    return [
        {
            "type": "Promoted",
            "status": status,
            "reason": reason,
            "message": message,
            "lastUpdateTime": STAMP,
            "lastTransitionTime": STAMP,
        }
    ]


def test_stamp_is_t0() -> None:
    from app.foreign.fields import rfc3339

    assert rfc3339(STAMP) == T0


def test_the_seed_canary_shows_phase_weight_failed_checks_and_three_checks() -> None:
    body = with_status(
        seed_canary(),
        phase="Progressing",
        canaryWeight=20,
        failedChecks=2,
        iterations=0,
        conditions=promoted("Unknown", "Progressing", "New revision detected, progressing canary analysis."),
    )
    view = canary_view(body, now=T0 + 5)
    r = view.rollout
    assert view.invalid == ""
    assert (r.key, r.driven_by, r.phase) == ("microservices/microservices-canary", "flagger", Phase.PROGRESSING)
    assert (r.desired.canary, r.actual.canary, r.actual.stable) == (20, 20, 80)
    assert (r.failed_checks, r.threshold) == (2, 5)
    assert (r.step, r.steps) == (2, 5)  # 10 20 30 40 50
    assert view.weights == (10, 20, 30, 40, 50)
    assert r.message == "New revision detected, progressing canary analysis."
    assert [(c.check.name, c.check.min, c.check.max, c.check.interval, c.source) for c in view.checks] == [
        ("request-success-rate", 99.0, None, "30s", "builtin"),
        ("request-duration", None, 0.5, "30s", "builtin"),
        ("error-rate", None, 1.0, "30s", "skipped"),
    ]
    # Flagger judges only built-ins and templateRefs: the seed's error-rate is shown, and said to be ignored.
    assert "Flagger does not judge it" in view.checks[2].note
    assert view.checks[0].check.unit == "%" and view.checks[1].check.unit == "ms"
    assert [(h.name, h.url, h.timeout) for h in view.webhooks] == [("load-test", "http://load-tester.test/", 5.0)]
    assert view.interval == 30.0


def test_a_scripted_progression_to_success() -> None:
    seed = seed_canary()
    script: list[tuple[dict[str, Any], Phase, int, int]] = [
        ({"phase": "Initializing"}, Phase.INITIALIZING, 0, 0),
        ({"phase": "Initialized", "canaryWeight": 0, "failedChecks": 0}, Phase.INITIALIZED, 0, 0),
    ]
    for weight, failed in ((10, 0), (20, 1), (30, 1), (40, 2), (50, 2)):
        script.append(
            (
                {"phase": "Progressing", "canaryWeight": weight, "failedChecks": failed},
                Phase.PROGRESSING,
                weight,
                failed,
            )
        )
    script += [
        ({"phase": "Promoting", "canaryWeight": 50, "failedChecks": 2}, Phase.PROMOTING, 50, 2),
        ({"phase": "Finalising", "canaryWeight": 0, "failedChecks": 2}, Phase.FINALISING, 0, 2),
        ({"phase": "Succeeded", "canaryWeight": 0, "failedChecks": 0}, Phase.SUCCEEDED, 0, 0),
    ]
    seen = []
    for status, phase, weight, failed in script:
        r = canary_view(with_status(seed, **status), now=T0 + 1).rollout
        seen.append((r.phase, r.actual.canary, r.failed_checks))
        assert (r.phase, r.actual.canary, r.failed_checks) == (phase, weight, failed)
        assert (r.next_tick is None) == (phase not in (Phase.PROGRESSING,))
    assert seen[-1][0].terminal


def test_the_failure_path_counts_down_and_ends_failed() -> None:
    seed = seed_canary()
    for failed, rollback_after in ((3, 30 + 2 * 30), (4, 30 + 30), (5, 30)):
        r = canary_view(
            with_status(seed, phase="Progressing", canaryWeight=30, failedChecks=failed), now=T0 + 1
        ).rollout
        assert r.next_tick == T0 + 30
        assert r.earliest_rollback == T0 + rollback_after, failed
    failed_view = canary_view(
        with_status(
            seed,
            phase="Failed",
            canaryWeight=0,
            failedChecks=5,
            conditions=promoted("False", "Failed", "Canary analysis failed, Deployment scaled to zero."),
        ),
        now=T0 + 1,
    )
    r = failed_view.rollout
    assert (r.phase, r.actual.canary, r.earliest_rollback) == (Phase.FAILED, 0, None)
    assert r.message.startswith("Canary analysis failed")


def test_countdown_follows_flaggers_tick_semantics() -> None:
    # 5 threshold, 0 failures so far: five failing ticks, then the rollback at the start of the sixth.
    assert countdown(Phase.PROGRESSING, 0.0, 30.0, 0, 5, now=1.0) == (30.0, 30.0 + 5 * 30)
    # The threshold already reached: the very next tick rolls back.
    assert countdown(Phase.PROGRESSING, 0.0, 30.0, 5, 5, now=1.0) == (30.0, 30.0)
    # A status written long ago: the next tick is the next multiple of the interval after now.
    assert countdown(Phase.PROGRESSING, 0.0, 30.0, 4, 5, now=95.0) == (120.0, 150.0)
    # No rollback can come outside analysis.
    assert countdown(Phase.SUCCEEDED, 0.0, 30.0, 4, 5, now=1.0) == (None, None)
    assert countdown(Phase.PROGRESSING, None, 30.0, 4, 5, now=1.0) == (None, None)


def test_suspended_and_skip_analysis_are_shown_and_stop_the_countdown() -> None:
    body = with_status(seed_canary(), phase="Progressing", canaryWeight=10, failedChecks=1)
    body["spec"]["suspend"] = True
    r = canary_view(body, now=T0).rollout
    assert r.paused and r.earliest_rollback is None and r.message.startswith("Suspended (spec.suspend)")
    body["spec"]["suspend"] = False
    body["spec"]["skipAnalysis"] = True
    r = canary_view(body, now=T0).rollout
    assert not r.paused and r.earliest_rollback is None and "spec.skipAnalysis" in r.message


def test_template_ref_checks_carry_the_metric_templates_query() -> None:
    body = seed_canary()
    body["spec"]["analysis"]["metrics"].append(
        {
            "name": "latency-p95",
            "templateRef": {"name": "latency", "namespace": "flagger-system"},
            "thresholdRange": {"max": 300},
            "interval": "1m",
        }
    )
    body["spec"]["analysis"]["metrics"].append({"name": "not-there", "templateRef": {"name": "missing"}})
    templates = metric_templates(
        {
            ("flagger-system", "latency"): {
                "apiVersion": "flagger.app/v1beta1",
                "kind": "MetricTemplate",
                "spec": {
                    "provider": {"type": "prometheus", "address": "http://prometheus:9090"},
                    "query": 'histogram_quantile(0.95, rate(x{namespace="{{ namespace }}"}[{{ interval }}]))',
                },
            }
        }
    )
    view = canary_view(body, now=T0, templates=templates)
    latency, missing = view.checks[3], view.checks[4]
    assert latency.source == "template" and latency.runnable
    assert latency.check.template == template_key("flagger-system", "latency")
    assert latency.query.startswith("histogram_quantile(0.95") and latency.address == "http://prometheus:9090"
    assert (latency.check.max, latency.check.interval) == (300.0, "1m")
    assert not missing.runnable and "microservices/missing is not in the cluster" in missing.note
    assert missing.check.interval == "1m"  # Flagger's default metric interval


def test_step_weights_and_defaults() -> None:
    body = seed_canary()
    body["spec"]["analysis"] = {"stepWeights": [1, 5, 25, 80], "threshold": 0}
    view = canary_view(with_status(body, phase="Progressing", canaryWeight=25), now=T0)
    assert view.weights == (1, 5, 25, 80) and (view.rollout.step, view.rollout.steps) == (3, 4)
    assert view.threshold == 1 and view.interval == 60.0  # Flagger's defaults


def test_malformed_fields_are_one_sentence_never_an_exception() -> None:
    cases: list[tuple[Any, str]] = [
        ({"spec": {"analysis": {"threshold": "five"}}}, "spec.analysis.threshold is a string, expected an integer"),
        ({"spec": {"analysis": {"interval": "often"}}}, "spec.analysis.interval 'often' is not a duration"),
        ({"spec": {"analysis": {"metrics": "all"}}}, "spec.analysis.metrics is a string, expected a list"),
        (
            {"spec": {"analysis": {"metrics": [{"name": "x", "thresholdRange": {"min": "high"}}]}}},
            "spec.analysis.metrics[0].thresholdRange.min is a string, expected a number",
        ),
        ({"status": {"canaryWeight": 250}}, "status.canaryWeight 250 is not between 0 and 100"),
        ({"status": {"phase": "Dancing"}}, "status.phase 'Dancing' is not a Flagger phase"),
        ({"status": {"lastTransitionTime": "yesterday"}}, "status.lastTransitionTime 'yesterday' is not an RFC 3339"),
        ({"spec": ["not", "an", "object"]}, "spec is a list, expected an object"),
        ("not even a dict", "is not an object"),
    ]
    for extra, sentence in cases:
        body: Any = {"metadata": {"name": "web", "namespace": "shop"}, **extra} if isinstance(extra, dict) else extra
        view = canary_view(body, now=T0)
        assert sentence in view.invalid, (extra, view.invalid)
        assert view.invalid.count(".") >= 1 and "\n" not in view.invalid
        assert view.rollout.driven_by == "flagger"


def test_outside_strings_are_sanitized_before_they_reach_a_terminal() -> None:
    body = with_status(
        seed_canary(),
        phase="Progressing",
        conditions=promoted("Unknown", "Progressing", "ok\x1b]0;owned\x07 \u202egnp.exe"),
    )
    view = canary_view(body, now=T0)
    assert view.rollout.message == "ok\\x1b]0;owned\\x07 \\u202egnp.exe"
    assert "\x1b" not in view.conditions[0]
    assert "\x1b" not in canary_view(with_status(seed_canary(), phase="\x1b[2J"), now=T0).invalid


def test_templates_the_room_cannot_run_say_so() -> None:
    body = seed_canary()
    body["spec"]["analysis"]["metrics"] = [
        {"name": "a", "templateRef": {"name": "vars"}},
        {"name": "b", "templateRef": {"name": "dd"}},
    ]
    templates = metric_templates(
        {
            ("microservices", "vars"): {"spec": {"query": 'x{app="{{ variables.app }}",ns="{{ namespace }}"}'}},
            ("microservices", "dd"): {"spec": {"provider": {"type": "datadog"}, "query": "avg:x{*}"}},
        }
    )
    a, b = canary_view(body, now=T0, templates=templates).checks
    assert a.note == (
        "MetricTemplate microservices/vars uses {{ variables.app }}, which the room does not fill: it cannot run it."
    )
    assert b.note == "MetricTemplate microservices/dd asks datadog, not Prometheus: the room cannot run it."
    assert not a.runnable and not b.runnable
