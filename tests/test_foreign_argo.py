"""Argo Rollout and AnalysisRun → the room's view, through the status the Rollout controller writes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from app.foreign.argo import rollout_view
from app.foreign.argo_analysis import analysis_summary
from app.model import Phase, Strategy

DATA = Path(__file__).parent / "foreign_data"
STABLE, CANARY = "6d4f8c7b9", "85b9f6d5c"


def rollout(**status: Any) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((DATA / "rollout.yaml").read_text())
    body["status"] = {"observedGeneration": "2", "stableRS": STABLE, "currentPodHash": CANARY, **status}
    return body


def replica_sets(canary_available: int = 1) -> list[dict[str, Any]]:
    sets: list[dict[str, Any]] = yaml.safe_load((DATA / "replicasets.yaml").read_text())
    sets[1]["status"]["availableReplicas"] = canary_available
    return sets


def test_steps_advancing_paused_at_a_pause_step() -> None:
    start = rollout_view(
        rollout(
            currentStepIndex=0, phase="Progressing", message="more replicas need to be updated", availableReplicas=3
        ),
        replica_sets(0),
    )
    assert start.step_list == (
        "setWeight: 25",
        "pause",
        "setWeight: 50",
        "pause: 30s",
        "analysis",
        "setCanaryScale{weight: 75}",
        "experiment",
        "setWeight: 75",
    )
    r = start.rollout
    assert (r.driven_by, r.strategy, r.phase, r.step, r.steps) == ("argo", Strategy.CANARY, Phase.PROGRESSING, 0, 8)
    assert (start.set_weight, start.actual_weight) == (25, 0)
    assert r.message == "more replicas need to be updated"

    paused = rollout_view(
        rollout(
            currentStepIndex=1,
            phase="Paused",
            message="CanaryPauseStep",
            controllerPause=True,
            pauseConditions=[{"reason": "CanaryPauseStep", "startTime": "2026-12-02T06:00:00Z"}],
            availableReplicas=4,
        ),
        replica_sets(1),
    )
    r = paused.rollout
    assert (r.phase, r.paused, r.step) == (Phase.PAUSED, True, 1)
    assert paused.pause_conditions == ("CanaryPauseStep since 2026-12-02T06:00:00Z",)
    assert (paused.set_weight, paused.actual_weight) == (25, 25)  # 1 of 4 available pods is the canary
    assert (r.desired.canary, r.actual.canary) == (25, 25)
    assert [(rs.revision, rs.images) for rs in paused.replica_sets] == [
        (2, ("registry.example.com/checkout:2.0.0",)),
        (1, ("registry.example.com/checkout:1.9.3",)),
    ]
    assert (r.stable_image, r.canary_image) == (
        "registry.example.com/checkout:1.9.3",
        "registry.example.com/checkout:2.0.0",
    )

    # At the analysis step, the set weight is the last setWeight before it.
    analysing = rollout_view(
        rollout(
            currentStepIndex=4,
            phase="Progressing",
            availableReplicas=4,
            canary={"currentStepAnalysisRunStatus": {"name": "checkout-85b9f6d5c-2-4", "status": "Running"}},
        ),
        replica_sets(2),
    )
    assert (analysing.set_weight, analysing.actual_weight) == (50, 50)
    assert (analysing.analysis_run, analysing.analysis_status) == ("checkout-85b9f6d5c-2-4", "Running")


def test_traffic_routing_reads_the_actual_weight_from_status() -> None:
    body = rollout(
        currentStepIndex=2,
        phase="Progressing",
        availableReplicas=4,
        canary={"weights": {"canary": {"weight": 40}, "stable": {"weight": 60}}},
    )
    body["spec"]["strategy"]["canary"]["trafficRouting"] = {"istio": {"virtualService": {"name": "checkout"}}}
    view = rollout_view(body, replica_sets(1))
    assert (view.set_weight, view.actual_weight) == (50, 40)


def test_abort_then_fully_promoted() -> None:
    aborted = rollout_view(
        rollout(
            currentStepIndex=2,
            abort=True,
            abortedAt="2026-12-02T06:05:00Z",
            phase="Degraded",
            message="RolloutAborted: Rollout aborted update to revision 2",
            availableReplicas=3,
        ),
        replica_sets(0),
    )
    assert aborted.aborted and aborted.rollout.phase is Phase.DEGRADED
    assert aborted.rollout.message == "RolloutAborted: Rollout aborted update to revision 2"
    assert aborted.set_weight == 0

    done = rollout_view(
        rollout(currentStepIndex=8, stableRS=CANARY, phase="Healthy", availableReplicas=4), replica_sets(4)
    )
    assert done.rollout.phase is Phase.HEALTHY and done.rollout.phase.terminal
    assert (done.set_weight, done.actual_weight, done.rollout.canary_image) == (100, 100, "")


def test_phase_is_derived_as_kubectl_argo_rollouts_get_does() -> None:
    # A spec change the controller has not observed yet wins over status.phase.
    stale = rollout_view(rollout(observedGeneration="1", phase="Healthy"))
    assert (stale.phase, stale.rollout.message) == ("Progressing", "waiting for rollout spec update to be observed")
    unpausing = rollout_view(rollout(controllerPause=True, phase="Paused"))
    assert (unpausing.phase, unpausing.rollout.message) == ("Progressing", "waiting for rollout to unpause")
    # No status.phase (an older controller): derived from spec and conditions.
    manual = rollout(currentStepIndex=2)
    manual["spec"]["paused"] = True
    assert rollout_view(manual).phase == "Paused" and rollout_view(manual).rollout.message == "manually paused"
    degraded = rollout(
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "RolloutAborted",
                "message": "Rollout aborted update to revision 2",
            }
        ]
    )
    assert rollout_view(degraded).rollout.message == "RolloutAborted: Rollout aborted update to revision 2"


def test_blue_green_active_and_preview() -> None:
    body = rollout(
        phase="Paused",
        message="BlueGreenPause",
        blueGreen={"activeSelector": STABLE, "previewSelector": CANARY},
        pauseConditions=[{"reason": "BlueGreenPause", "startTime": "2026-12-02T06:00:00Z"}],
    )
    body["spec"]["strategy"] = {"blueGreen": {"activeService": "checkout-active", "previewService": "checkout-preview"}}
    view = rollout_view(body, replica_sets(4))
    assert view.strategy == "BlueGreen" and view.rollout.strategy is Strategy.BLUE_GREEN
    assert (view.active_service, view.preview_service) == ("checkout-active", "checkout-preview")
    assert (view.active_selector, view.preview_selector) == (STABLE, CANARY)
    assert view.rollout.actual.canary == 0 and view.rollout.paused
    body["status"]["blueGreen"]["activeSelector"] = CANARY
    assert rollout_view(body, replica_sets(4)).rollout.actual.canary == 100


def test_malformed_rollout_is_one_sentence() -> None:
    view = rollout_view(rollout(currentStepIndex="two"))
    assert view.invalid == (
        "Rollout shop/checkout: status.currentStepIndex is a string, expected an integer; "
        "its controller wrote what the room cannot read."
    )
    body = rollout()
    body["spec"]["strategy"]["canary"]["steps"][0] = "setWeight 25"
    view = rollout_view(body)
    assert view.invalid == (
        "Rollout shop/checkout: spec.strategy.canary.steps[0] is a string, expected an object; fix the manifest."
    )
    assert view.step_list[:3] == ("invalid", "pause", "setWeight: 50")  # the others keep their place
    assert rollout_view({"metadata": "x"}).invalid.startswith("Rollout default/?:")


def analysis_run() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {
            "name": "checkout-85b9f6d5c-2-4",
            "namespace": "shop",
            "ownerReferences": [{"kind": "Rollout", "name": "checkout", "apiVersion": "argoproj.io/v1alpha1"}],
        },
        "spec": {"metrics": [{"name": "success-rate"}, {"name": "latency"}]},
        "status": {
            "phase": "Running",
            "metricResults": [
                {
                    "name": "success-rate",
                    "phase": "Running",
                    "count": 3,
                    "successful": 2,
                    "failed": 1,
                    "measurements": [
                        {"phase": "Successful", "value": "[0.997]", "startedAt": "2026-12-02T06:00:00Z"},
                        {"phase": "Failed", "value": "[0.91]", "startedAt": "2026-12-02T06:01:00Z"},
                        {"phase": "Successful", "value": "[0.995]", "startedAt": "2026-12-02T06:02:00Z"},
                    ],
                },
                {
                    "name": "latency",
                    "phase": "Running",
                    "count": 3,
                    "inconclusive": 1,
                    "error": 2,
                    "measurements": [
                        {"phase": "Error", "message": "Post http://prometheus: connection refused"},
                        {"phase": "Error", "message": "Post http://prometheus: connection refused"},
                        {"phase": "Inconclusive", "value": "412"},
                    ],
                },
            ],
        },
    }


def test_analysis_run_counts_and_latest_values() -> None:
    s = analysis_summary(analysis_run())
    assert (s.name, s.owner, s.phase, s.invalid) == ("checkout-85b9f6d5c-2-4", "checkout", "Running", "")
    rate, latency = s.metrics
    assert rate.counts == "✔ 2 ✖ 1 ? 0 ⚠ 0" and (rate.latest, rate.latest_phase) == ("[0.995]", "Successful")
    assert latency.counts == "✔ 0 ✖ 0 ? 1 ⚠ 2" and latency.latest == "412"
    assert s.totals == (2, 1, 1, 2)
    broken = analysis_run()
    broken["status"]["metricResults"][0]["successful"] = "two"
    assert "status.metricResults[0].successful is a string" in analysis_summary(copy.deepcopy(broken)).invalid


def test_outside_strings_are_sanitized() -> None:
    view = rollout_view(rollout(phase="Degraded", message="bad\x1b[2Jnews", pauseConditions=[{"reason": "X\x9bY"}]))
    assert view.rollout.message == "bad\\x1b[2Jnews" and view.pause_conditions == ("X\\x9bY",)
    run = analysis_run()
    run["status"]["metricResults"][0]["measurements"][-1]["value"] = "\x1b[31m1"
    assert analysis_summary(run).metrics[0].latest == "\\x1b[31m1"


def test_the_index_groups_analysis_runs_experiments_and_replica_sets_by_rollout() -> None:
    from app.control.foreign_index import build_index
    from backends.base import ForeignObject

    def obj(body: dict[str, Any]) -> ForeignObject:
        return ForeignObject(
            api_version=body["apiVersion"],
            kind=body["kind"],
            name=body["metadata"]["name"],
            namespace=body["metadata"]["namespace"],
            body=body,
        )

    experiment = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Experiment",
        "metadata": {
            "name": "checkout-85b9f6d5c-2-6",
            "namespace": "shop",
            "ownerReferences": [{"kind": "Rollout", "name": "checkout"}],
        },
        "status": {
            "phase": "Running",
            "templateStatuses": [{"name": "baseline", "status": "Running", "replicas": 1, "availableReplicas": 1}],
            "analysisRuns": [{"name": "success-rate", "phase": "Successful"}],
        },
    }
    other_rs = replica_sets()[0] | {
        "metadata": {
            **replica_sets()[0]["metadata"],
            "name": "x",
            "ownerReferences": [{"kind": "Rollout", "name": "other"}],
        }
    }
    idx = build_index(
        [
            obj(rollout(currentStepIndex=6, availableReplicas=4)),
            obj(analysis_run()),
            obj(experiment),
            *[obj(rs) for rs in replica_sets()],
            obj(other_rs),
        ],
        now=0.0,
    )
    assert list(idx.rollouts) == ["shop/checkout"] and idx.owns("shop/checkout")
    assert [a.name for a in idx.analysis["shop/checkout"]] == ["checkout-85b9f6d5c-2-4"]
    (e,) = idx.experiments["shop/checkout"]
    assert (e.phase, e.templates, e.analyses) == ("Running", ("baseline Running 1/1",), ("success-rate Successful",))
    assert [rs["metadata"]["name"] for rs in idx.replica_sets["shop/checkout"]] == [
        "checkout-6d4f8c7b9",
        "checkout-85b9f6d5c",
    ]


def test_replica_sets_as_kubectl_argo_rollouts_get_lists_them() -> None:
    """GetReplicaSetInfo: newest revision first; stable / canary from status; health from the ReplicaSet."""
    sets = replica_sets()
    sets[0]["status"]["readyReplicas"] = 3
    sets[1]["spec"]["replicas"] = 2  # one of two available: still Progressing
    sets[1]["status"]["readyReplicas"] = 1
    old = copy.deepcopy(sets[0])
    old["metadata"]["name"] = "checkout-5c9d7f8b6"
    old["metadata"]["labels"]["rollouts-pod-template-hash"] = "5c9d7f8b6"
    old["metadata"]["annotations"]["rollout.argoproj.io/revision"] = "0"
    old["spec"]["replicas"], old["status"] = 0, {}
    old["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/checkout:1.8.0"
    rows = rollout_view(rollout(currentStepIndex=1), [old, *sets]).rollout.replica_sets
    assert [(r.name, r.revision, r.tags, r.status, r.ready, r.desired, r.images) for r in rows] == [
        ("checkout-85b9f6d5c", 2, ("canary",), "Progressing", 1, 2, ("registry.example.com/checkout:2.0.0",)),
        ("checkout-6d4f8c7b9", 1, ("stable",), "Healthy", 3, 3, ("registry.example.com/checkout:1.9.3",)),
        ("checkout-5c9d7f8b6", 0, (), "ScaledDown", 0, 0, ("registry.example.com/checkout:1.8.0",)),
    ]


def test_replica_sets_of_a_blue_green_rollout_are_active_and_preview() -> None:
    body = rollout(blueGreen={"activeSelector": STABLE, "previewSelector": CANARY})
    body["spec"]["strategy"] = {"blueGreen": {"activeService": "checkout", "previewService": "checkout-preview"}}
    rows = rollout_view(body, replica_sets()).rollout.replica_sets
    assert [(r.revision, r.tags) for r in rows] == [(2, ("preview",)), (1, ("stable", "active"))]


def test_replica_sets_of_another_rollout_with_the_same_name_are_not_its_own() -> None:
    body = rollout()
    body["metadata"]["uid"] = "u-2"  # the Rollout was deleted and created again: the old ReplicaSets name u-1
    assert rollout_view(body, replica_sets()).rollout.replica_sets == ()
    body["metadata"]["uid"] = "u-1"
    assert len(rollout_view(body, replica_sets()).rollout.replica_sets) == 2
