"""A Flagger `Canary` (flagger.app/v1beta1) as the room shows it: a `Rollout` row driven by Flagger.

Pure: a dict in, a `CanaryView` out. A malformed field never raises; the view carries
one sentence (`invalid`) naming the object and the field, and shows what it could read.

The countdown follows Flagger's scheduler (fluxcd/flagger `pkg/controller/scheduler.go`):
at the start of every analysis tick Flagger rolls back when `status.failedChecks >=
analysis.threshold`; a tick whose metric checks fail (or find no data) adds one to
`failedChecks`, a passing tick never lowers it. So with `f` failures recorded and
threshold `n`, the soonest rollback is the start of the tick after `n - f` more failing
ticks. Ticks are `analysis.interval` apart; Flagger stamps `status.lastTransitionTime`
whenever a tick writes status, which is the room's best reading of the tick clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.foreign.fields import Fields
from app.foreign.flagger_checks import FlaggerCheck, canary_checks
from app.model import HookType, Phase, Rollout, Strategy, Webhook, Weights
from app.sanitize import clean

API_VERSION = "flagger.app/v1beta1"
KIND = "Canary"
DEFAULT_INTERVAL = 60.0  # Flagger's AnalysisInterval
MIN_INTERVAL = 10.0  # Flagger raises shorter intervals to 10s
DEFAULT_MAX_WEIGHT = 100  # Flagger: maxWeight unset means 100
#: Phases in which Flagger is analysing, so a rollback can come.
ANALYSING = frozenset({Phase.PROGRESSING, Phase.WAITING_PROMOTION, Phase.WAITING})
_PHASES = {p.value: p for p in Phase}


@dataclass(frozen=True)
class CanaryView:
    """Everything the room shows of one Flagger Canary."""

    rollout: Rollout
    resource_version: str = ""
    invalid: str = ""  # one sentence when a field is malformed
    target_ref: str = ""  # the Deployment (or DaemonSet) Flagger rolls
    provider: str = ""
    interval: float = DEFAULT_INTERVAL
    threshold: int = 1
    iterations: int = 0  # status.iterations
    max_iterations: int = 0  # analysis.iterations (blue-green and A/B)
    weights: tuple[int, ...] = ()
    suspended: bool = False
    skip_analysis: bool = False
    last_transition: float | None = None
    conditions: tuple[str, ...] = ()  # "Promoted=False (Progressing): New revision detected ..."
    checks: tuple[FlaggerCheck, ...] = ()
    webhooks: tuple[Webhook, ...] = ()


def steps_of(f: Fields) -> tuple[int, ...]:
    """The weights Flagger walks through: stepWeights, or stepWeight up to maxWeight (Flagger's defaults)."""
    listed = f.get("spec.analysis.stepWeights", list, [])
    weights = [w for w in listed if isinstance(w, int) and not isinstance(w, bool)]
    if weights:
        return tuple(weights)
    step = f.get("spec.analysis.stepWeight", int, 0)
    top = f.get("spec.analysis.maxWeight", int, DEFAULT_MAX_WEIGHT)
    if step <= 0:
        return ()
    return tuple(range(step, top + 1, step)) or (top,)


def countdown(
    phase: Phase, last_tick: float | None, interval: float, failed: int, threshold: int, now: float
) -> tuple[float | None, float | None]:
    """(next tick, earliest automatic rollback) under Flagger's semantics; None when none can come."""
    if phase not in ANALYSING or last_tick is None or interval <= 0:
        return None, None
    ticks = max(1, int((now - last_tick) // interval) + 1)
    next_tick = last_tick + ticks * interval
    more_failures = max(0, threshold - failed)
    return next_tick, next_tick + more_failures * interval


def _webhooks(f: Fields) -> tuple[Webhook, ...]:
    kinds = {h.value: h for h in HookType}
    out: list[Webhook] = []
    for i, hook in enumerate(f.items("spec.analysis.webhooks")):
        label = f"spec.analysis.webhooks[{i}]"
        url = f.get("url", str, "", hook, label)
        kind = kinds.get(f.get("type", str, "rollout", hook, label))
        if not url or kind is None:
            f.problems.append(f"{f.what}: {label} needs a url and a known type; Flagger refuses it too.")
            continue
        meta = f.get("metadata", dict, {}, hook, label)
        out.append(
            Webhook(
                name=f.get("name", str, f"hook-{i + 1}", hook, label),
                type=kind,
                url=url,
                timeout=f.duration("timeout", 60.0, hook, label),
                metadata={str(k): str(v) for k, v in meta.items()},
            )
        )
    return tuple(out)


def _conditions(f: Fields) -> tuple[str, ...]:
    out: list[str] = []
    for i, c in enumerate(f.items("status.conditions")):
        label = f"status.conditions[{i}]"
        head = f"{f.get('type', str, '?', c, label)}={f.get('status', str, '?', c, label)}"
        reason = f.get("reason", str, "", c, label)
        message = f.get("message", str, "", c, label)
        out.append(f"{head}{f' ({reason})' if reason else ''}{': ' + message if message else ''}")
    return tuple(clean(line, 300) for line in out)


def _message(f: Fields, suspended: bool, skip: bool) -> str:
    for c in f.items("status.conditions"):
        if c.get("type") == "Promoted" and isinstance(c.get("message"), str):
            text = str(c["message"])
            break
    else:
        text = ""
    if suspended:
        text = "Suspended (spec.suspend): Flagger does not reconcile it. " + text
    elif skip:
        text = "Analysis skipped (spec.skipAnalysis): Flagger promotes without checks. " + text
    return clean(text.strip(), 300)


def canary_view(
    body: dict[str, Any],
    now: float,
    templates: dict[str, tuple[str, str, str]] | None = None,
    resource_version: str = "",
) -> CanaryView:
    """The view of one Canary; `templates` are the cluster's MetricTemplates (see `metric_templates`)."""
    meta = body.get("metadata") if isinstance(body, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    name = name if isinstance(name, str) and name else "?"
    namespace = namespace if isinstance(namespace, str) and namespace else "default"
    f = Fields(body, f"Canary {namespace}/{name}")
    interval = max(MIN_INTERVAL, f.duration("spec.analysis.interval", DEFAULT_INTERVAL))
    threshold = max(1, f.get("spec.analysis.threshold", int, 1))
    weights = steps_of(f)
    max_iterations = f.get("spec.analysis.iterations", int, 0)
    phase_text = f.get("status.phase", str, "")
    phase = _PHASES.get(phase_text, Phase.INITIALIZING)
    if phase_text and phase_text not in _PHASES:
        f.problems.append(f"{f.what}: status.phase '{phase_text}' is not a Flagger phase.")
    weight = f.get("status.canaryWeight", int, 0)
    if not 0 <= weight <= 100:
        f.problems.append(f"{f.what}: status.canaryWeight {weight} is not between 0 and 100.")
        weight = max(0, min(100, weight))
    failed = f.get("status.failedChecks", int, 0)
    iterations = f.get("status.iterations", int, 0)
    last = f.time("status.lastTransitionTime")
    suspended = f.get("spec.suspend", bool, False)
    skip = f.get("spec.skipAnalysis", bool, False)
    checks = canary_checks(f, namespace, name, templates or {})
    hooks = _webhooks(f)
    conditions = _conditions(f)
    ab = max_iterations > 0 and not weights
    next_tick, earliest = countdown(phase, last, interval, failed, threshold, now)
    if suspended or skip:
        next_tick, earliest = None, None
    step = weights.index(weight) + 1 if weight in weights else (iterations if ab else 0)
    rollout = Rollout(
        name=name,
        namespace=namespace,
        strategy=Strategy.BLUE_GREEN if ab else Strategy.CANARY,
        phase=phase,
        paused=suspended,
        auto=not suspended,
        desired=Weights.of_canary(weight),
        actual=Weights.of_canary(weight),
        step=step,
        steps=max_iterations if ab else len(weights),
        failed_checks=failed,
        threshold=threshold,
        message=_message(f, suspended, skip),
        next_tick=next_tick,
        earliest_rollback=earliest,
        driven_by="flagger",
    )
    return CanaryView(
        rollout=rollout,
        resource_version=resource_version,
        invalid=f.problem,
        target_ref=f.get("spec.targetRef.name", str, ""),
        provider=f.get("spec.provider", str, ""),
        interval=interval,
        threshold=threshold,
        iterations=iterations,
        max_iterations=max_iterations,
        weights=weights,
        suspended=suspended,
        skip_analysis=skip,
        last_transition=last,
        conditions=conditions,
        checks=checks,
        webhooks=hooks,
    )
