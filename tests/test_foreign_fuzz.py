"""Any JSON at all in a Canary, Rollout, AnalysisRun or Experiment: a view and at most one sentence, never
an exception (the objects come from another controller and from people's manifests)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.foreign.argo import rollout_view
from app.foreign.argo_analysis import analysis_summary, experiment_summary
from app.foreign.flagger import canary_view
from app.foreign.gates import gate_plan
from app.foreign.verbs import argo_promote, argo_undo
from app.sanitize import is_clean

KEYS = [
    "spec",
    "status",
    "metadata",
    "analysis",
    "metrics",
    "webhooks",
    "steps",
    "strategy",
    "canary",
    "phase",
    "canaryWeight",
    "failedChecks",
    "threshold",
    "interval",
    "stepWeight",
    "stepWeights",
    "maxWeight",
    "thresholdRange",
    "min",
    "max",
    "templateRef",
    "name",
    "namespace",
    "url",
    "type",
    "currentStepIndex",
    "pauseConditions",
    "stableRS",
    "currentPodHash",
    "setWeight",
    "pause",
    "duration",
    "metricResults",
    "measurements",
    "value",
    "lastTransitionTime",
    "conditions",
    "message",
    "abort",
    "paused",
    "blueGreen",
    "trafficRouting",
    "weights",
    "weight",
    "template",
    "labels",
    "annotations",
    "ownerReferences",
    "kind",
]
scalars = st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=True) | st.text(max_size=12)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(json_like)
def test_any_body_gives_a_view_never_an_exception(body: Any) -> None:
    canary = canary_view(body, now=0.0)
    assert canary.rollout.driven_by == "flagger"
    assert is_clean(canary.invalid) and is_clean(canary.rollout.message)
    gate_plan(canary.rollout.name, canary.rollout.namespace, canary.webhooks)
    argo = rollout_view(body, [body] if isinstance(body, dict) else [])
    assert argo.rollout.driven_by == "argo" and is_clean(argo.invalid)
    assert 0 <= argo.rollout.actual.canary <= 100
    analysis_summary(body)
    experiment_summary(body)
    if isinstance(body, dict):
        argo_promote(body)
        argo_promote(body, full=True)
        argo_undo(body, [body])


template_like = st.fixed_dictionaries(
    {
        "metadata": st.dictionaries(st.sampled_from(["labels", "name", "annotations"]), json_like, max_size=3),
        "spec": json_like,
    }
)


@settings(max_examples=200, deadline=None)
@given(template_like, template_like)
def test_undo_of_any_templates_is_a_patch_or_a_sentence(current: Any, previous: Any) -> None:
    def rs(revision: str, template: Any) -> dict[str, Any]:
        return {"metadata": {"annotations": {"rollout.argoproj.io/revision": revision}}, "spec": {"template": template}}

    plan = argo_undo({"spec": {"template": current}}, [rs("2", current), rs("1", previous)])
    assert plan.skip or plan.requests()[0].body.startswith(b'[{"op":"replace","path":"/spec/template"')
