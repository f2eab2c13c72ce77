"""An Argo `AnalysisRun` as a per-metric summary: ✔ Successful, ✖ Failed, ? Inconclusive, ⚠ Error,
and each metric's latest measured value (status.metricResults, as `kubectl argo rollouts get`
sums them in `pkg/kubectl-argo-rollouts/info/analysisrun_info.go`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.foreign.fields import Fields
from app.sanitize import clean

ICONS = {"Successful": "✔", "Failed": "✖", "Inconclusive": "?", "Error": "⚠"}


@dataclass(frozen=True)
class MetricSummary:
    name: str
    phase: str = ""
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    latest: str = ""  # the latest measurement's value as the provider returned it ("[0.99]", "0.5")
    latest_phase: str = ""
    message: str = ""

    @property
    def counts(self) -> str:
        return f"✔ {self.successful} ✖ {self.failed} ? {self.inconclusive} ⚠ {self.error}"


@dataclass(frozen=True)
class AnalysisSummary:
    name: str
    namespace: str
    phase: str = ""
    message: str = ""
    owner: str = ""  # the Rollout (or Experiment) that owns the run
    metrics: tuple[MetricSummary, ...] = ()
    invalid: str = ""

    @property
    def totals(self) -> tuple[int, int, int, int]:
        return (
            sum(m.successful for m in self.metrics),
            sum(m.failed for m in self.metrics),
            sum(m.inconclusive for m in self.metrics),
            sum(m.error for m in self.metrics),
        )


def analysis_summary(body: dict[str, Any]) -> AnalysisSummary:
    f = Fields(body, "AnalysisRun")
    name, namespace = f.get("metadata.name", str, "?"), f.get("metadata.namespace", str, "default")
    f.what = f"AnalysisRun {namespace}/{name}"
    owner = next(
        (
            str(o.get("name", ""))
            for o in f.items("metadata.ownerReferences")
            if o.get("kind") in ("Rollout", "Experiment")
        ),
        "",
    )
    metrics: list[MetricSummary] = []
    for i, result in enumerate(f.items("status.metricResults")):
        label = f"status.metricResults[{i}]"
        measurements = f.items("measurements", result, label)
        last = measurements[-1] if measurements else {}
        metrics.append(
            MetricSummary(
                name=f.get("name", str, f"metric-{i + 1}", result, label),
                phase=f.get("phase", str, "", result, label),
                successful=f.get("successful", int, 0, result, label),
                failed=f.get("failed", int, 0, result, label),
                inconclusive=f.get("inconclusive", int, 0, result, label),
                error=f.get("error", int, 0, result, label),
                latest=clean(last.get("value", ""), 80),
                latest_phase=str(last.get("phase", "")),
                message=clean(f.get("message", str, "", result, label) or last.get("message", ""), 200),
            )
        )
    return AnalysisSummary(
        name=name,
        namespace=namespace,
        phase=f.get("status.phase", str, ""),
        message=clean(f.get("status.message", str, ""), 300),
        owner=owner,
        metrics=tuple(metrics),
        invalid=f.problem,
    )


@dataclass(frozen=True)
class ExperimentSummary:
    """An Argo `Experiment` (a step of a Rollout, or on its own): its phase and each template's pods."""

    name: str
    namespace: str
    phase: str = ""
    message: str = ""
    owner: str = ""
    templates: tuple[str, ...] = ()  # "baseline Running 1/1"
    analyses: tuple[str, ...] = ()  # "success-rate Successful"
    invalid: str = ""


def experiment_summary(body: dict[str, Any]) -> ExperimentSummary:
    f = Fields(body, "Experiment")
    name, namespace = f.get("metadata.name", str, "?"), f.get("metadata.namespace", str, "default")
    f.what = f"Experiment {namespace}/{name}"
    owner = next(
        (str(o.get("name", "")) for o in f.items("metadata.ownerReferences") if o.get("kind") == "Rollout"), ""
    )
    templates = tuple(
        clean(f"{t.get('name', '?')} {t.get('status', '')} {t.get('availableReplicas', 0)}/{t.get('replicas', 0)}", 120)
        for t in f.items("status.templateStatuses")
    )
    analyses = tuple(clean(f"{a.get('name', '?')} {a.get('phase', '')}", 120) for a in f.items("status.analysisRuns"))
    return ExperimentSummary(
        name=name,
        namespace=namespace,
        phase=f.get("status.phase", str, ""),
        message=clean(f.get("status.message", str, ""), 300),
        owner=owner,
        templates=templates,
        analyses=analyses,
        invalid=f.problem,
    )
