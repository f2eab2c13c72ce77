"""The engine's foreign objects, indexed once per snapshot: every Canary, Rollout and AnalysisRun
as a view, with the MetricTemplates and ReplicaSets they refer to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.foreign.argo import ArgoView, rollout_view
from app.foreign.argo_analysis import AnalysisSummary, ExperimentSummary, analysis_summary, experiment_summary
from app.foreign.flagger import CanaryView, canary_view
from app.foreign.flagger_checks import metric_templates
from app.foreign.gates import GatePlan, gate_plan
from backends.base import ForeignObject

FLAGGER_GROUP = "flagger.app/"
ARGO_GROUP = "argoproj.io/"


def _is(obj: ForeignObject, group: str, kind: str) -> bool:
    return obj.kind == kind and obj.api_version.startswith(group)


@dataclass(frozen=True)
class ForeignIndex:
    canaries: dict[str, CanaryView] = field(default_factory=dict)
    rollouts: dict[str, ArgoView] = field(default_factory=dict)
    gates: dict[str, GatePlan] = field(default_factory=dict)
    analysis: dict[str, tuple[AnalysisSummary, ...]] = field(default_factory=dict)  # by owning Rollout key
    experiments: dict[str, tuple[ExperimentSummary, ...]] = field(default_factory=dict)  # by owning Rollout key
    bodies: dict[str, ForeignObject] = field(default_factory=dict)  # Canary / Rollout key → object
    replica_sets: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)  # Rollout key → bodies

    def owns(self, target: str) -> bool:
        return target in self.bodies


def build_index(objects: Iterable[ForeignObject], now: float) -> ForeignIndex:
    objs = list(objects)
    templates = metric_templates(
        {(o.namespace, o.name): o.body for o in objs if _is(o, FLAGGER_GROUP, "MetricTemplate")}
    )
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for o in objs:
        if o.kind == "ReplicaSet" and o.api_version == "apps/v1":
            by_ns.setdefault(o.namespace, []).append(o.body)
    out = ForeignIndex()
    for o in objs:
        key = f"{o.namespace}/{o.name}"
        if _is(o, FLAGGER_GROUP, "Canary"):
            view = canary_view(o.body, now, templates, o.resource_version)
            out.canaries[key] = view
            out.gates[key] = gate_plan(o.name, o.namespace, view.webhooks)
            out.bodies[key] = o
        elif _is(o, ARGO_GROUP, "Rollout"):
            owned = tuple(rs for rs in by_ns.get(o.namespace, []) if _owned_by(rs, o.name))
            out.rollouts[key] = rollout_view(o.body, owned, o.resource_version)
            out.replica_sets[key] = owned
            out.bodies[key] = o
    for o in objs:
        if _is(o, ARGO_GROUP, "AnalysisRun"):
            summary = analysis_summary(o.body)
            owner = f"{o.namespace}/{summary.owner}"
            out.analysis[owner] = (*out.analysis.get(owner, ()), summary)
        elif _is(o, ARGO_GROUP, "Experiment"):
            experiment = experiment_summary(o.body)
            owner = f"{o.namespace}/{experiment.owner}"
            out.experiments[owner] = (*out.experiments.get(owner, ()), experiment)
    return out


def _owned_by(rs: dict[str, Any], rollout: str) -> bool:
    meta = rs.get("metadata")
    owners = meta.get("ownerReferences") if isinstance(meta, dict) else None
    return isinstance(owners, list) and any(
        isinstance(o, dict) and o.get("kind") == "Rollout" and o.get("name") == rollout for o in owners
    )
