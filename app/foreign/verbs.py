"""The exact requests the upstream tools send to drive an Argo Rollout or a Flagger Canary.

Argo Rollouts (argoproj/argo-rollouts, `kubectl argo rollouts`):
- promote, promote --full: `pkg/kubectl-argo-rollouts/cmd/promote/promote.go` (getPatches, PromoteRollout)
- abort: `pkg/kubectl-argo-rollouts/cmd/abort/abort.go`
- retry: `pkg/kubectl-argo-rollouts/cmd/retry/retry.go`
- pause: `pkg/kubectl-argo-rollouts/cmd/pause/pause.go`
- resume: the plugin has no resume verb; a manual pause is lifted by promote's own
  `unpausePatch` (`{"spec":{"paused":false}}`), which is all the room sends for resume
- undo: `pkg/kubectl-argo-rollouts/cmd/undo/undo.go` (RunUndoRollout, getRolloutPatch; `argo_undo`)
- restart: `pkg/kubectl-argo-rollouts/cmd/restart/restart.go` (restartPatch, RFC 3339 UTC)

Argo's CLI first patches the `status` subresource; when that answers NotFound (Rollouts
v0.9, no status subresource) it sends the unified patch to the object instead. A `Plan`
keeps the three patches and `Plan.requests(status_missing)` says which are sent.

Flagger (fluxcd/flagger) has no CLI: its docs drive a Canary with `kubectl patch
--type=merge` of `spec.suspend` (`docs/gitbook/usage/how-it-works.md`, "Canary suspend")
and `spec.skipAnalysis` (`docs/gitbook/usage/deployment-strategies.md`); kubectl sends
the `-p` JSON compacted (sigs.k8s.io/yaml ToJSON), which is the bytes below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from app.foreign import argo_undo as argo_undo_rs
from app.foreign.fields import Fields
from app.foreign.gojson import go_marshal

ARGO = ("argoproj.io/v1alpha1", "Rollout")
FLAGGER = ("flagger.app/v1beta1", "Canary")
PatchType = Literal["merge", "json", "strategic"]

# promote.go constants, byte for byte (note the space after the commas in some of them).
SET_CURRENT_STEP_INDEX = '{"status":{"currentStepIndex":%d}}'
UNPAUSE = '{"spec":{"paused":false}}'
CLEAR_PAUSE_CONDITIONS = '{"status":{"pauseConditions":null}}'
CLEAR_PAUSE_AND_CONTROLLER_PAUSE = '{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":%d}}'
UNPAUSE_AND_CLEAR_PAUSE_CONDITIONS = '{"spec":{"paused":false},"status":{"pauseConditions":null}}'
PROMOTE_FULL = '{"status":{"promoteFull":true}}'
CLEAR_PAUSE_CONDITIONS_WITH_STEP = '{"status":{"pauseConditions":null, "currentStepIndex":%d}}'
UNPAUSE_AND_CLEAR_PAUSE_CONDITIONS_WITH_STEP = (
    '{"spec":{"paused":false},"status":{"pauseConditions":null, "currentStepIndex":%d}}'
)
UNPAUSE_AND_PROMOTE_FULL = '{"spec":{"paused":false},"status":{"promoteFull":true}}'
ABORT = '{"status":{"abort":true}}'  # abort.go
RETRY = '{"status":{"abort":false}}'  # retry.go
PAUSE = '{"spec":{"paused":true}}'  # pause.go
RESTART = '{\n\t"spec": {\n\t\t"restartAt": "%s"\n\t}\n}'  # restart.go: a raw string, tabs and newlines kept


@dataclass(frozen=True)
class Request:
    """One PATCH: what it is sent to and the exact body."""

    api_version: str
    kind: str
    body: bytes
    patch_type: PatchType = "merge"
    subresource: str = ""  # "status" or ""
    name: str = ""  # another object than the command's target (undo of a Rollout's workloadRef)


@dataclass(frozen=True)
class Plan:
    """What a verb sends: the status patch first, then the spec patch; `unified` replaces the spec
    patch when the status subresource answers NotFound. `skip` is a sentence when nothing is sent."""

    verb: str
    status: Request | None = None
    spec: Request | None = None
    unified: Request | None = None
    skip: str = ""

    def requests(self, status_missing: bool = False) -> tuple[Request, ...]:
        if status_missing and self.status is not None:
            return (self.unified,) if self.unified is not None else ()
        return tuple(r for r in (self.status, self.spec) if r is not None)


def _argo(body: str | bytes, subresource: str = "", patch_type: PatchType = "merge") -> Request:
    raw = body.encode() if isinstance(body, str) else body
    return Request(ARGO[0], ARGO[1], raw, patch_type, subresource)


def _current_step(f: Fields) -> tuple[int, int] | None:
    """GetCurrentCanaryStep's index (0 when unset) and the step count; None without steps."""
    steps = len(f.get("spec.strategy.canary.steps", list, []))
    if f.raw("spec.strategy.canary") is None or steps == 0:
        return None
    return f.get("status.currentStepIndex", int, 0), steps


def _next_index(f: Fields) -> int | None:
    current = _current_step(f)
    if current is None:
        return None
    index, steps = current
    return index + 1 if index < steps else index


def argo_promote(rollout: dict[str, Any], full: bool = False) -> Plan:
    """getPatches(rollout, skipCurrentStep=False, skipAllSteps=False, full)."""
    f = Fields(rollout, "Rollout")
    paused = f.get("spec.paused", bool, False)
    spec = _argo(UNPAUSE) if paused else None
    if full:
        promoted = f.get("status.currentPodHash", str, "") == f.get("status.stableRS", str, "")
        return Plan(
            "promote --full", None if promoted else _argo(PROMOTE_FULL, "status"), spec, _argo(UNPAUSE_AND_PROMOTE_FULL)
        )
    unified = _argo(UNPAUSE_AND_CLEAR_PAUSE_CONDITIONS)
    pauses = f.items("status.pauseConditions")
    inconclusive = (
        f.raw("spec.strategy.canary") is not None
        and f.get("status.canary.currentStepAnalysisRunStatus.status", str, "") == "Inconclusive"
    )
    controller_pause = f.get("status.controllerPause", bool, False)
    if inconclusive and pauses and controller_pause:
        index = _next_index(f)
        status = _argo(CLEAR_PAUSE_AND_CONTROLLER_PAUSE % index, "status") if index is not None else None
        return Plan("promote", status, spec, unified)
    if pauses:
        return Plan("promote", _argo(CLEAR_PAUSE_CONDITIONS, "status"), spec, unified)
    if f.raw("spec.strategy.canary") is not None:
        index = _next_index(f)
        if index is not None:
            return Plan(
                "promote",
                _argo(CLEAR_PAUSE_CONDITIONS_WITH_STEP % index, "status"),
                spec,
                _argo(UNPAUSE_AND_CLEAR_PAUSE_CONDITIONS_WITH_STEP % index),
            )
    return Plan("promote", None, spec, unified)


def argo_abort() -> Plan:
    return Plan("abort", _argo(ABORT, "status"), None, _argo(ABORT))


def argo_retry() -> Plan:
    return Plan("retry", _argo(RETRY, "status"), None, _argo(RETRY))


def argo_pause() -> Plan:
    return Plan("pause", None, _argo(PAUSE))


def argo_resume() -> Plan:
    return Plan("resume", None, _argo(UNPAUSE))


def argo_restart(now: float) -> Plan:
    """restartAt = now in UTC, RFC 3339 to the second (Go's time.RFC3339 of a UTC time ends in Z)."""
    stamp = datetime.fromtimestamp(int(now), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Plan("restart", None, _argo(RESTART % stamp))


#: undoWorkloadRef: where the CLI sends the same patch when the Rollout's template lives in another object.
WORKLOADS = {"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "PodTemplate": "v1"}


def argo_undo(rollout: dict[str, Any], replica_sets: list[dict[str, Any]], to_revision: int = 0) -> Plan:
    """RunUndoRollout: a JSON patch replacing /spec/template with the revision's pod template minus the hash
    label, sent to the Rollout, or to the object its `spec.workloadRef` names (a Deployment, a ReplicaSet)."""
    picked = argo_undo_rs.pick_revision(rollout, replica_sets, to_revision)
    if isinstance(picked, str):
        return Plan("undo", skip=picked)
    same = argo_undo_rs.template_matches(rollout, picked)
    if isinstance(same, str):
        return Plan("undo", skip=same)
    if same:
        return Plan("undo", skip=f"skipped rollback (current template already matches revision {to_revision})")
    template = argo_undo_rs.restored_template(picked)
    try:
        body = go_marshal([{"op": "replace", "path": "/spec/template", "value": template}])
    except (TypeError, ValueError):
        return Plan("undo", skip="the ReplicaSet's pod template holds a value JSON cannot carry (NaN or infinity)")
    ref = Fields(rollout, "Rollout").get("spec.workloadRef", dict, {})
    if not ref:
        return Plan("undo", None, _argo(body, patch_type="json"))
    kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
    if kind not in WORKLOADS:
        return Plan("undo", skip=f"failed restoring revision {to_revision}: workload of type {kind} is not supported")
    return Plan("undo", None, Request(WORKLOADS[kind], kind, body, "json", name=name))


def flagger_suspend(suspend: bool) -> Plan:
    body = b'{"spec":{"suspend":true}}' if suspend else b'{"spec":{"suspend":false}}'
    return Plan("suspend" if suspend else "resume", None, Request(FLAGGER[0], FLAGGER[1], body))


def flagger_skip_analysis() -> Plan:
    return Plan("skip analysis", None, Request(FLAGGER[0], FLAGGER[1], b'{"spec":{"skipAnalysis":true}}'))
