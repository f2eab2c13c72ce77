"""Each verb's request, byte for byte, against the bodies the upstream tools send.

The expected bytes are written out here from the upstream sources, not taken from
the module under test:
- argoproj/argo-rollouts pkg/kubectl-argo-rollouts/cmd/promote/promote.go (the patch constants, getPatches)
- ... cmd/abort/abort.go, cmd/retry/retry.go, cmd/pause/pause.go, cmd/restart/restart.go, cmd/undo/undo.go
- fluxcd/flagger docs/gitbook/usage/how-it-works.md (spec.suspend), usage/deployment-strategies.md (skipAnalysis)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.foreign import verbs
from app.foreign.verbs import Request

DATA = Path(__file__).parent / "foreign_data"


def rollout(**status: Any) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((DATA / "rollout.yaml").read_text())
    body["status"] = {"stableRS": "6d4f8c7b9", "currentPodHash": "85b9f6d5c", **status}
    return body


def status(body: bytes) -> Request:
    return Request("argoproj.io/v1alpha1", "Rollout", body, "merge", "status")


def spec(body: bytes, patch_type: str = "merge") -> Request:
    return Request("argoproj.io/v1alpha1", "Rollout", body, patch_type, "")  # type: ignore[arg-type]


PAUSED_AT_STEP = {"reason": "CanaryPauseStep", "startTime": "2026-12-02T06:00:00Z"}


def test_promote_at_a_pause_step_clears_the_pause_conditions() -> None:
    plan = verbs.argo_promote(rollout(currentStepIndex=1, pauseConditions=[PAUSED_AT_STEP], controllerPause=True))
    assert plan.requests() == (status(b'{"status":{"pauseConditions":null}}'),)
    assert plan.requests(status_missing=True) == (spec(b'{"spec":{"paused":false},"status":{"pauseConditions":null}}'),)


def test_promote_of_a_manually_paused_rollout_also_unpauses() -> None:
    body = rollout(currentStepIndex=1, pauseConditions=[PAUSED_AT_STEP])
    body["spec"]["paused"] = True
    assert verbs.argo_promote(body).requests() == (
        status(b'{"status":{"pauseConditions":null}}'),
        spec(b'{"spec":{"paused":false}}'),
    )


def test_promote_between_pauses_moves_to_the_next_step() -> None:
    plan = verbs.argo_promote(rollout(currentStepIndex=4))
    assert plan.requests() == (status(b'{"status":{"pauseConditions":null, "currentStepIndex":5}}'),)
    assert plan.requests(True) == (
        spec(b'{"spec":{"paused":false},"status":{"pauseConditions":null, "currentStepIndex":5}}'),
    )
    # No currentStepIndex yet counts as step 0; the last index never goes past the step count.
    assert (
        verbs.argo_promote(rollout()).requests()[0].body == b'{"status":{"pauseConditions":null, "currentStepIndex":1}}'
    )
    assert verbs.argo_promote(rollout(currentStepIndex=8)).requests()[0].body == (
        b'{"status":{"pauseConditions":null, "currentStepIndex":8}}'
    )


def test_promote_of_an_inconclusive_analysis_lifts_the_controller_pause() -> None:
    body = rollout(
        currentStepIndex=4,
        controllerPause=True,
        pauseConditions=[{"reason": "InconclusiveAnalysisRun", "startTime": "2026-12-02T06:00:00Z"}],
        canary={"currentStepAnalysisRunStatus": {"name": "ar", "status": "Inconclusive"}},
    )
    assert verbs.argo_promote(body).requests() == (
        status(b'{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":5}}'),
    )


def test_promote_full() -> None:
    body = rollout(currentStepIndex=1, pauseConditions=[PAUSED_AT_STEP])
    plan = verbs.argo_promote(body, full=True)
    assert plan.requests() == (status(b'{"status":{"promoteFull":true}}'),)
    assert plan.requests(True) == (spec(b'{"spec":{"paused":false},"status":{"promoteFull":true}}'),)
    body["spec"]["paused"] = True
    body["status"]["currentPodHash"] = body["status"]["stableRS"]
    assert verbs.argo_promote(body, full=True).requests() == (spec(b'{"spec":{"paused":false}}'),)


def test_blue_green_promote_without_pause_conditions_sends_nothing_but_the_unpause() -> None:
    body = rollout()
    body["spec"]["strategy"] = {"blueGreen": {"activeService": "a"}}
    body["spec"]["paused"] = True
    assert verbs.argo_promote(body).requests() == (spec(b'{"spec":{"paused":false}}'),)


def test_abort_retry_pause_resume() -> None:
    assert verbs.argo_abort().requests() == (status(b'{"status":{"abort":true}}'),)
    assert verbs.argo_abort().requests(True) == (spec(b'{"status":{"abort":true}}'),)
    assert verbs.argo_retry().requests() == (status(b'{"status":{"abort":false}}'),)
    assert verbs.argo_retry().requests(True) == (spec(b'{"status":{"abort":false}}'),)
    assert verbs.argo_pause().requests() == (spec(b'{"spec":{"paused":true}}'),)
    assert verbs.argo_resume().requests() == (spec(b'{"spec":{"paused":false}}'),)


def test_restart_is_the_cli_raw_string_with_an_rfc3339_utc_time() -> None:
    at = 1_796_018_000.0  # 2026-11-30T05:53:20Z
    assert verbs.argo_restart(at + 0.75).requests() == (
        spec(b'{\n\t"spec": {\n\t\t"restartAt": "2026-11-30T05:53:20Z"\n\t}\n}'),
    )


def replica_sets() -> list[dict[str, Any]]:
    sets: list[dict[str, Any]] = yaml.safe_load((DATA / "replicasets.yaml").read_text())
    return sets


def test_undo_replaces_the_template_with_the_previous_revision_minus_the_hash_label() -> None:
    plan = verbs.argo_undo(rollout(), replica_sets())
    expected = (
        b'[{"op":"replace","path":"/spec/template","value":{"metadata":{"creationTimestamp":null,'
        b'"labels":{"app":"checkout"}},"spec":{"containers":[{"name":"checkout",'
        b'"image":"registry.example.com/checkout:1.9.3","resources":{}}],"restartPolicy":"Always"}}}]'
    )
    assert plan.requests() == (spec(expected, "json"),)
    assert verbs.argo_undo(rollout(), replica_sets(), to_revision=1).requests() == plan.requests()


def test_undo_refusals_are_the_clis_sentences() -> None:
    assert verbs.argo_undo(rollout(), replica_sets(), 7).skip == "unable to find specified revision 7 in history"
    current = rollout()
    current["spec"]["template"] = replica_sets()[0]["spec"]["template"]
    assert verbs.argo_undo(current, replica_sets(), 1).skip == (
        "skipped rollback (current template already matches revision 1)"
    )
    assert verbs.argo_undo(rollout(), replica_sets()[:1]).skip == 'no revision found for rollout "checkout"'


def test_go_escapes_in_undo_bodies() -> None:
    sets = replica_sets()
    sets[0]["spec"]["template"]["metadata"]["annotations"] = {"note": "a<b & c>d \u2028 é"}
    body = verbs.argo_undo(rollout(), sets).requests()[0].body
    assert b'"annotations":{"note":"a\\u003cb \\u0026 c\\u003ed \\u2028 \xc3\xa9"}' in body


def test_flagger_patches_are_what_kubectl_patch_sends() -> None:
    canary = ("flagger.app/v1beta1", "Canary")
    assert verbs.flagger_suspend(True).requests() == (Request(*canary, b'{"spec":{"suspend":true}}'),)
    assert verbs.flagger_suspend(False).requests() == (Request(*canary, b'{"spec":{"suspend":false}}'),)
    assert verbs.flagger_skip_analysis().requests() == (Request(*canary, b'{"spec":{"skipAnalysis":true}}'),)


def test_undo_of_a_workload_ref_rollout_patches_the_referenced_object_as_undo_workload_ref_does() -> None:
    body = rollout()
    del body["spec"]["template"]
    body["spec"]["workloadRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout-base"}
    (request,) = verbs.argo_undo(body, replica_sets()).requests()
    assert (request.api_version, request.kind, request.name, request.patch_type) == (
        "apps/v1",
        "Deployment",
        "checkout-base",
        "json",
    )
    assert request.body.startswith(b'[{"op":"replace","path":"/spec/template","value":{"metadata":')
    body["spec"]["workloadRef"]["kind"] = "StatefulSet"
    assert verbs.argo_undo(body, replica_sets()).skip == (
        "failed restoring revision 0: workload of type StatefulSet is not supported"
    )
