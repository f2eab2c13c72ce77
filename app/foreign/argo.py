"""An Argo `Rollout` (argoproj.io/v1alpha1) as the room shows it: a `Rollout` row driven by Argo Rollouts.

Pure: dicts in, an `ArgoView` out; a malformed field is one sentence (`invalid`), never
an exception. Phase, message, step, set weight and actual weight are derived the way
`kubectl argo rollouts get` derives them (argoproj/argo-rollouts
`utils/rollout/rolloututil.go` GetRolloutPhase, `utils/replicaset/canary.go`
GetCurrentSetWeight, `pkg/kubectl-argo-rollouts/info/rollout_info.go`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from app.foreign.fields import Fields
from app.model import Phase, ReplicaSetRow, Rollout, Strategy, Weights
from app.sanitize import clean

API_VERSION = "argoproj.io/v1alpha1"
KIND = "Rollout"
HASH_LABEL = "rollouts-pod-template-hash"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
_PHASES = {
    "Healthy": Phase.HEALTHY,
    "Progressing": Phase.PROGRESSING,
    "Paused": Phase.PAUSED,
    "Degraded": Phase.DEGRADED,
}
_STEP_KINDS = (
    "setWeight",
    "pause",
    "experiment",
    "analysis",
    "setCanaryScale",
    "plugin",
    "setHeaderRoute",
    "setMirrorRoute",
)


@dataclass(frozen=True)
class ReplicaSetInfo:
    """One ReplicaSet as `info/replicaset_info.go` GetReplicaSetInfo describes it."""

    name: str
    pod_hash: str
    revision: int
    images: tuple[str, ...]
    replicas: int = 0  # status.replicas
    available: int = 0  # status.availableReplicas
    ready: int = 0  # status.readyReplicas
    desired: int = 0  # spec.replicas (1 when unset, the API server's default)
    status: str = ""  # getReplicaSetHealth: Healthy, Progressing, ScaledDown, ReplicaFailure
    tags: tuple[str, ...] = ()  # stable, canary, active, preview
    init_images: tuple[str, ...] = ()

    def row(self) -> ReplicaSetRow:
        return ReplicaSetRow(
            name=self.name,
            revision=self.revision,
            tags=self.tags,
            status=self.status,
            images=self.images,
            ready=self.ready,
            desired=self.desired,
        )


@dataclass(frozen=True)
class ArgoView:
    """Everything the room shows of one Argo Rollout."""

    rollout: Rollout
    resource_version: str = ""
    invalid: str = ""
    strategy: str = "Canary"  # "Canary" or "BlueGreen"
    phase: str = ""  # as `kubectl argo rollouts get` prints it
    step_index: int | None = None  # status.currentStepIndex
    step_list: tuple[str, ...] = ()  # "setWeight: 20", "pause", "pause: 1m", "analysis", ...
    set_weight: int = 0
    actual_weight: int = 0
    stable_rs: str = ""
    current_hash: str = ""
    replica_sets: tuple[ReplicaSetInfo, ...] = ()
    pause_conditions: tuple[str, ...] = ()  # "CanaryPauseStep since 2026-12-02T06:00:00Z"
    spec_paused: bool = False
    aborted: bool = False
    controller_pause: bool = False
    active_service: str = ""
    preview_service: str = ""
    active_selector: str = ""
    preview_selector: str = ""
    analysis_run: str = ""  # status.canary.currentStepAnalysisRunStatus.name
    analysis_status: str = ""  # ... .status ("Running", "Inconclusive", ...)
    revisions: tuple[int, ...] = ()  # of the Rollout's ReplicaSets, newest first (for undo)


def step_text(f: Fields, step: dict[str, Any], label: str) -> str:
    """One canary step as CanaryStepString prints it."""
    if "setWeight" in step:
        return f"setWeight: {f.get('setWeight', int, 0, step, label)}"
    if "pause" in step:
        duration = step.get("pause", {}).get("duration") if isinstance(step.get("pause"), dict) else None
        return f"pause: {duration}" if duration not in (None, "") else "pause"
    if "setCanaryScale" in step:
        scs = f.get("setCanaryScale", dict, {}, step, label)
        if "weight" in scs:
            return f"setCanaryScale{{weight: {scs['weight']}}}"
        if scs.get("matchTrafficWeight"):
            return "setCanaryScale{matchTrafficWeight: true}"
        if "replicas" in scs:
            return f"setCanaryScale{{replicas: {scs['replicas']}}}"
    for kind in ("experiment", "analysis"):
        if kind in step:
            return kind
    if "plugin" in step:
        return f"plugin: {f.get('plugin.name', str, '?', step, label)}"
    for kind in ("setHeaderRoute", "setMirrorRoute"):
        if kind in step:
            return f"{kind}: {f.get(kind + '.name', str, '?', step, label)}"
    return "invalid"


def _owned(f: Fields, rollout_name: str, uid: str) -> bool:
    """ownerRef(rs.OwnerReferences, [rollout uid]); without a uid (a manifest, not an API object): kind and name."""
    for o in f.items("metadata.ownerReferences"):
        if uid and o.get("uid") == uid or not uid and o.get("kind") == "Rollout" and o.get("name") == rollout_name:
            return True
    return False


def _health(f: Fields) -> str:
    """getReplicaSetHealth."""
    desired = f.raw("spec.replicas")
    if f.get("metadata.generation", int, 0) > f.get("status.observedGeneration", int, 0):
        return "Progressing"
    failure = [c for c in f.items("status.conditions") if c.get("type") == "ReplicaFailure"]
    if failure and failure[0].get("status") == "True":
        return "ReplicaFailure"
    if isinstance(desired, int) and f.get("status.availableReplicas", int, 0) < desired:
        return "Progressing"
    return "ScaledDown" if desired == 0 and isinstance(desired, int) else "Healthy"


def replica_sets(rollout_name: str, objects: Iterable[dict[str, Any]], uid: str = "") -> tuple[ReplicaSetInfo, ...]:
    """The ReplicaSets a Rollout owns, newest revision first (then by name), as GetReplicaSetInfo sorts them."""
    out: list[ReplicaSetInfo] = []
    for body in objects:
        f = Fields(body, "ReplicaSet")
        if not _owned(f, rollout_name, uid):
            continue
        revision = f.entry("metadata.annotations", REVISION_ANNOTATION)
        out.append(
            ReplicaSetInfo(
                name=clean(f.get("metadata.name", str, "?"), 253),
                pod_hash=f.entry("metadata.labels", HASH_LABEL),
                revision=int(revision) if revision.isdigit() else 0,
                images=tuple(clean(str(c.get("image", "")), 200) for c in f.items("spec.template.spec.containers")),
                init_images=tuple(
                    clean(str(c.get("image", "")), 200) for c in f.items("spec.template.spec.initContainers")
                ),
                replicas=f.get("status.replicas", int, 0),
                available=f.get("status.availableReplicas", int, 0),
                ready=f.get("status.readyReplicas", int, 0),
                desired=f.get("spec.replicas", int, 1),
                status=_health(f),
            )
        )
    return tuple(sorted(out, key=lambda rs: (-rs.revision, rs.name)))


def _tagged(f: Fields, sets: tuple[ReplicaSetInfo, ...], blue_green: bool) -> tuple[ReplicaSetInfo, ...]:
    """The info column of `kubectl argo rollouts get`: stable, then canary, or active / preview."""
    stable, current = f.get("status.stableRS", str, ""), f.get("status.currentPodHash", str, "")
    active = f.get("status.blueGreen.activeSelector", str, "")
    preview = f.get("status.blueGreen.previewSelector", str, "")
    out = []
    for rs in sets:
        tags: list[str] = []
        h = rs.pod_hash
        if h and h == stable:
            tags.append("stable")
        if not blue_green and h and h != stable and h == current:
            tags.append("canary")
        if blue_green and h and h == active:
            tags.append("active")
        elif blue_green and h and h == preview:
            tags.append("preview")
        out.append(replace(rs, tags=tuple(tags)))
    return tuple(out)


def _phase(f: Fields) -> tuple[str, str]:
    """GetRolloutPhase: observed generation, unpausing, then the controller's status.phase."""
    generation = f.get("metadata.generation", int, 0)
    observed = f.get("status.observedGeneration", str, "")
    if observed.isdigit() and generation and int(observed) < generation:
        return "Progressing", "waiting for rollout spec update to be observed"
    if f.get("status.controllerPause", bool, False) and not f.items("status.pauseConditions"):
        return "Progressing", "waiting for rollout to unpause"
    phase = f.get("status.phase", str, "")
    if phase:
        return phase, f.get("status.message", str, "")
    for cond in f.items("status.conditions"):
        if cond.get("type") == "InvalidSpec":
            return "Degraded", f"InvalidSpec: {cond.get('message', '')}"
        if cond.get("reason") in ("RolloutAborted", "ProgressDeadlineExceeded"):
            return "Degraded", f"{cond.get('reason')}: {cond.get('message', '')}"
    if f.get("spec.paused", bool, False):
        return "Paused", "manually paused"
    for cond in f.items("status.pauseConditions"):
        return "Paused", str(cond.get("reason", ""))
    if f.get("status.stableRS", str, "") != f.get("status.currentPodHash", str, "") or not f.get(
        "status.stableRS", str, ""
    ):
        return "Progressing", "waiting for all steps to complete"
    return "Healthy", ""


def _weights(
    f: Fields,
    steps: list[dict[str, Any]],
    index: int | None,
    canary_rs: ReplicaSetInfo | None,
) -> tuple[int, int]:
    """(set weight, actual weight) as GetCurrentSetWeight and rollout_info.go compute them."""
    top = f.get("spec.strategy.canary.trafficRouting.maxTrafficWeight", int, 100)
    current = None if not steps else (index if index is not None else 0)
    at_end = current is None or current >= len(steps)
    if f.get("status.abort", bool, False):
        set_weight = 0
    elif at_end:
        set_weight = top
    else:
        set_weight = next(
            (int(s["setWeight"]) for s in reversed(steps[: (current or 0) + 1]) if isinstance(s.get("setWeight"), int)),
            0,
        )
    available = f.get("status.availableReplicas", int, 0)
    if at_end:
        actual = top
    elif available <= 0:
        actual = 0
    elif f.raw("spec.strategy.canary.trafficRouting") is None:
        actual = (canary_rs.available * top) // available if canary_rs else 0
    else:
        actual = f.get("status.canary.weights.canary.weight", int, set_weight)
    return set_weight, actual


def rollout_view(
    body: dict[str, Any], replica_set_bodies: Iterable[dict[str, Any]] = (), resource_version: str = ""
) -> ArgoView:
    meta = body.get("metadata") if isinstance(body, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    name = name if isinstance(name, str) and name else "?"
    namespace = namespace if isinstance(namespace, str) and namespace else "default"
    f = Fields(body, f"Rollout {namespace}/{name}")
    blue_green = f.raw("spec.strategy.blueGreen") is not None
    listed = f.get("spec.strategy.canary.steps", list, [])
    f.items("spec.strategy.canary.steps")  # reports the entries that are not objects
    steps = [s if isinstance(s, dict) else {} for s in listed]  # kept in place: indices are the controller's
    step_list = tuple(clean(step_text(f, s, f"spec.strategy.canary.steps[{i}]"), 80) for i, s in enumerate(steps))
    index = f.get("status.currentStepIndex", int, -1)
    step_index = index if index >= 0 else None
    stable, current = f.get("status.stableRS", str, ""), f.get("status.currentPodHash", str, "")
    uid = meta.get("uid") if isinstance(meta, dict) else None
    sets = _tagged(f, replica_sets(name, replica_set_bodies, uid if isinstance(uid, str) else ""), blue_green)
    by_hash = {rs.pod_hash: rs for rs in sets}
    canary_rs = by_hash.get(current) if current != stable else None
    set_weight, actual = _weights(f, steps, step_index, canary_rs) if not blue_green else (0, 0)
    phase, message = _phase(f)
    pauses = tuple(
        clean(f"{p.get('reason', '?')}{' since ' + str(p['startTime']) if p.get('startTime') else ''}", 120)
        for p in f.items("status.pauseConditions")
    )
    aborted = f.get("status.abort", bool, False)
    active_sel = f.get("status.blueGreen.activeSelector", str, "")
    if blue_green:
        set_weight = actual = 0 if active_sel == stable or not current else 100
    stable_rs, new_rs = by_hash.get(stable), by_hash.get(current)
    rollout = Rollout(
        name=name,
        namespace=namespace,
        strategy=Strategy.BLUE_GREEN if blue_green else Strategy.CANARY,
        phase=_PHASES.get(phase, Phase.PROGRESSING),
        paused=f.get("spec.paused", bool, False) or bool(pauses),
        desired=Weights.of_canary(set_weight),
        actual=Weights.of_canary(actual),
        step=step_index or 0,
        steps=len(steps),
        stable_image=", ".join(stable_rs.images) if stable_rs else "",
        canary_image=", ".join(new_rs.images) if new_rs and current != stable else "",
        active_color=active_sel,
        ready=f"{f.get('status.availableReplicas', int, 0)}/{f.get('spec.replicas', int, 1)}",
        message=clean(message, 300),
        driven_by="argo",
        replica_sets=tuple(rs.row() for rs in sets),
        aborted=aborted,
    )
    return ArgoView(
        rollout=rollout,
        resource_version=resource_version,
        invalid=f.problem,
        strategy="BlueGreen" if blue_green else "Canary",
        phase=phase,
        step_index=step_index,
        step_list=step_list,
        set_weight=set_weight,
        actual_weight=actual,
        stable_rs=stable,
        current_hash=current,
        replica_sets=sets,
        pause_conditions=pauses,
        spec_paused=f.get("spec.paused", bool, False),
        aborted=aborted,
        controller_pause=f.get("status.controllerPause", bool, False),
        active_service=f.get("spec.strategy.blueGreen.activeService", str, ""),
        preview_service=f.get("spec.strategy.blueGreen.previewService", str, ""),
        active_selector=active_sel,
        preview_selector=f.get("status.blueGreen.previewSelector", str, ""),
        analysis_run=f.get("status.canary.currentStepAnalysisRunStatus.name", str, ""),
        analysis_status=f.get("status.canary.currentStepAnalysisRunStatus.status", str, ""),
        revisions=tuple(rs.revision for rs in sets),
    )
