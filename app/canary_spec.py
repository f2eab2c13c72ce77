"""A Flagger `Canary` manifest as a Shiftroom `Target`, as it is (pure: no I/O).

Mapped: `spec.targetRef.name` (the deployment; also the target and route name, as
Flagger names its router objects), `spec.service.name`/`port`, `spec.provider`
(the router), `spec.progressDeadlineSeconds`, and `spec.analysis`: `interval`,
`threshold`, `maxWeight`, `stepWeight`/`stepWeights`, `metrics` (`thresholdRange`
min/max, `interval`, `templateRef`) and `webhooks` (`type`, `url`, `timeout`,
`metadata`). Durations are Go's ("30s", "1m30s", "500ms").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.model import Analysis, BlueGreen, HookType, MetricCheck, Strategy, Target, Webhook

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
PROVIDERS = {
    "istio": "istio",
    "nginx": "nginx",
    "smi": "smi",
    "linkerd": "smi",
    "osm": "smi",
    "gatewayapi": "gateway-api",
}


class CanarySpecError(ValueError):
    """A Canary Shiftroom cannot use: one sentence naming the source and the field."""


@dataclass(frozen=True)
class CanarySpec:
    target: Target
    port: int  # spec.service.port (for the Services of Flagger's layout)
    name: str  # the Canary object's own name


def duration(value: Any, field: str, source: str) -> float:
    """Go duration text (or a number of seconds) → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise CanarySpecError(f"{source}: {field} {value!r} is not a duration like 30s, 1m or 1m30s.")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _map(value: Any, field: str, source: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CanarySpecError(f"{source}: {field} must be a mapping.")
    return value


def _list(value: Any, field: str, source: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CanarySpecError(f"{source}: {field} must be a list.")
    return value


def _metric(m: Any, i: int, source: str) -> MetricCheck:
    field = f"spec.analysis.metrics[{i}]"
    m = _map(m, field, source)
    rng = _map(m.get("thresholdRange"), f"{field}.thresholdRange", source)
    ref = _map(m.get("templateRef"), f"{field}.templateRef", source)
    interval = m.get("interval", "1m")
    duration(interval, f"{field}.interval", source)
    return MetricCheck(
        name=str(m.get("name") or ""),
        min=rng.get("min"),
        max=rng.get("max"),
        interval=str(interval),
        template=str(ref["name"]) if ref.get("name") else None,
    )


def _webhook(h: Any, i: int, source: str) -> Webhook:
    field = f"spec.analysis.webhooks[{i}]"
    h = _map(h, field, source)
    kind = str(h.get("type") or "rollout")
    try:
        hook_type = HookType(kind)
    except ValueError:
        raise CanarySpecError(
            f"{source}: {field}.type {kind!r} is not one of {', '.join(t.value for t in HookType)}."
        ) from None
    timeout = duration(h.get("timeout", "10s"), f"{field}.timeout", source)
    meta = {str(k): str(v) for k, v in _map(h.get("metadata"), f"{field}.metadata", source).items()}
    return Webhook(
        name=str(h.get("name") or f"hook-{i}"),
        type=hook_type,
        url=str(h.get("url") or ""),
        timeout=timeout,
        metadata=meta,
    )


def _bounded(value: int, lo: int, hi: int, field: str, source: str) -> None:
    if not lo <= value <= hi:
        raise CanarySpecError(f"{source}: {field} is {value}; it must be between {lo} and {hi}.")


def router_of(provider: Any, source: str) -> str:
    if not provider:
        return ""
    key = str(provider).split(":")[0].lower()
    if key not in PROVIDERS:
        raise CanarySpecError(
            f"{source}: spec.provider {provider!r} is not one Shiftroom routes with; "
            "use istio, gatewayapi, nginx or smi."
        )
    return PROVIDERS[key]


def canary_to_target(
    doc: Any, source: str = "canary", namespace: str | None = None, production: bool = False
) -> CanarySpec:
    doc = _map(doc, "the document", source)
    if doc.get("kind") not in (None, "Canary"):
        raise CanarySpecError(f"{source}: kind is {doc.get('kind')!r}, not Canary.")
    meta = _map(doc.get("metadata"), "metadata", source)
    spec = _map(doc.get("spec"), "spec", source)
    ref = _map(spec.get("targetRef"), "spec.targetRef", source)
    if not ref.get("name"):
        raise CanarySpecError(f"{source}: spec.targetRef.name is missing (the Deployment the canary rolls).")
    if ref.get("kind", "Deployment") != "Deployment":
        raise CanarySpecError(f"{source}: spec.targetRef.kind {ref.get('kind')!r}: Shiftroom drives Deployments.")
    svc = _map(spec.get("service"), "spec.service", source)
    a = _map(spec.get("analysis"), "spec.analysis", source)
    deployment = str(ref["name"])
    try:
        metrics = _list(a.get("metrics"), "spec.analysis.metrics", source)
        hooks = _list(a.get("webhooks"), "spec.analysis.webhooks", source)
        analysis = Analysis(
            interval=duration(a.get("interval", "1m"), "spec.analysis.interval", source),
            threshold=int(a.get("threshold", 5)),
            max_weight=int(a.get("maxWeight", 50)),
            step_weight=int(a.get("stepWeight", 10)),
            step_weights=tuple(int(w) for w in _list(a.get("stepWeights"), "spec.analysis.stepWeights", source)),
            metrics=tuple(_metric(m, i, source) for i, m in enumerate(metrics)),
            webhooks=tuple(_webhook(h, i, source) for i, h in enumerate(hooks)),
        )
        _bounded(analysis.max_weight, 1, 100, "spec.analysis.maxWeight", source)
        _bounded(analysis.step_weight, 0, 100, "spec.analysis.stepWeight", source)
        _bounded(analysis.threshold, 1, 10_000, "spec.analysis.threshold", source)
        for w in analysis.step_weights:
            _bounded(w, 1, 100, "spec.analysis.stepWeights", source)
        deadline = float(spec.get("progressDeadlineSeconds", 600))
        target = Target(
            name=str(svc.get("name") or deployment),
            namespace=namespace or str(meta.get("namespace") or "default"),
            strategy=Strategy.CANARY,
            deployment=deployment,
            service=str(svc.get("name") or deployment),
            production=production,
            analysis=analysis,
            blue_green=BlueGreen(progress_deadline=deadline),
            router=router_of(spec.get("provider"), source),
        )
    except (ValidationError, TypeError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else {"msg": str(exc), "loc": ()}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise CanarySpecError(f"{source}: {where + ': ' if where else ''}{first['msg']}.") from None
    except ValueError as exc:
        raise CanarySpecError(f"{source}: {exc}.") from None
    return CanarySpec(target=target, port=int(svc.get("port") or 80), name=str(meta.get("name") or deployment))
