"""A Flagger Canary's metric checks, as Flagger itself judges them (fluxcd/flagger
`pkg/controller/scheduler_metrics.go`).

- `request-success-rate` and `request-duration` without a `templateRef` are Flagger's
  built-in checks for the mesh provider (the room runs its own built-in template of
  the same name: percent non-5xx, p99 in milliseconds);
- a `templateRef` names a `MetricTemplate` (its namespace defaults to the Canary's)
  whose `spec.query` is run with Flagger's placeholders;
- an inline `query` (deprecated upstream) is run as it is;
- any other metric has nothing to run: Flagger skips it, and the room says so.

The metric's window is its `interval` (Flagger's default `1m`); the range is its
`thresholdRange` min/max. Flagger counts one failed check per analysis tick when any
metric fails or has no data, not one per metric.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.foreign.fields import Fields
from app.model import MetricCheck

BUILTIN = {"request-success-rate": "%", "request-duration": "ms"}
DEFAULT_METRIC_INTERVAL = "1m"
#: The placeholders the room's PromQL templates fill; Flagger also has `variables.*`, `service`, `ingress`...
ROOM_PLACEHOLDERS = frozenset({"namespace", "target", "interval"})
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


@dataclass(frozen=True)
class FlaggerCheck:
    """One metric of a Canary: the check the room can run and where its query comes from."""

    check: MetricCheck
    source: str  # "builtin", "template", "inline" or "skipped"
    query: str = ""  # the PromQL with Flagger's placeholders ("" for built-ins and skipped ones)
    template_ref: str = ""  # "namespace/name" of the MetricTemplate
    provider: str = ""  # the MetricTemplate's provider type ("prometheus", ...)
    address: str = ""  # the MetricTemplate's provider address, when it names one
    note: str = ""  # one sentence when the room cannot run it the way Flagger does

    @property
    def runnable(self) -> bool:
        return self.source != "skipped" and not self.note


def template_key(namespace: str, name: str) -> str:
    """How a MetricTemplate is named in `MetricCheck.template` and in the query map."""
    return f"flagger:{namespace}/{name}"


def metric_templates(objects: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict[str, tuple[str, str, str]]:
    """(namespace, name) → MetricTemplate body, as {template_key: (query, provider type, address)}."""
    out: dict[str, tuple[str, str, str]] = {}
    for (namespace, name), body in objects.items():
        f = Fields(body, f"MetricTemplate {namespace}/{name}")
        query = f.get("spec.query", str, "")
        if query and not f.problem:
            out[template_key(namespace, name)] = (
                query,
                f.get("spec.provider.type", str, "prometheus"),
                f.get("spec.provider.address", str, ""),
            )
    return out


def _range(f: Fields, metric: dict[str, Any], label: str) -> tuple[float | None, float | None]:
    lo = f.get("thresholdRange.min", float, -1.0e308, metric, label)
    hi = f.get("thresholdRange.max", float, 1.0e308, metric, label)
    return (None if lo == -1.0e308 else lo), (None if hi == 1.0e308 else hi)


def canary_checks(
    f: Fields, namespace: str, canary: str, templates: Mapping[str, tuple[str, str, str]]
) -> tuple[FlaggerCheck, ...]:
    """Every entry of `spec.analysis.metrics`, in order."""
    out: list[FlaggerCheck] = []
    for i, metric in enumerate(f.items("spec.analysis.metrics")):
        label = f"spec.analysis.metrics[{i}]"
        name = f.get("name", str, "", metric, label) or f"metric-{i + 1}"
        lo, hi = _range(f, metric, label)
        interval = f.get("interval", str, "", metric, label) or DEFAULT_METRIC_INTERVAL
        ref_name = f.get("templateRef.name", str, "", metric, label)
        inline = f.get("query", str, "", metric, label)
        base = MetricCheck(name=name, min=lo, max=hi, interval=interval)
        if ref_name:
            ref_ns = f.get("templateRef.namespace", str, "", metric, label) or namespace
            key = template_key(ref_ns, ref_name)
            found = templates.get(key)
            if found is None:
                out.append(
                    FlaggerCheck(
                        base.model_copy(update={"template": key}),
                        "template",
                        template_ref=f"{ref_ns}/{ref_name}",
                        note=f"MetricTemplate {ref_ns}/{ref_name} is not in the cluster: Flagger fails this check.",
                    )
                )
                continue
            query, provider, address = found
            note = _unrunnable(f"MetricTemplate {ref_ns}/{ref_name}", query, provider)
            out.append(
                FlaggerCheck(
                    base.model_copy(update={"template": key}),
                    "template",
                    query,
                    f"{ref_ns}/{ref_name}",
                    provider,
                    address,
                    note,
                )
            )
        elif name in BUILTIN:
            out.append(FlaggerCheck(base.model_copy(update={"unit": BUILTIN[name]}), "builtin"))
        elif inline:
            key = f"flagger-inline:{namespace}/{canary}/{name}"
            note = _unrunnable(f"the inline query of {name}", inline, "prometheus")
            out.append(FlaggerCheck(base.model_copy(update={"template": key}), "inline", inline, note=note))
        else:
            out.append(
                FlaggerCheck(
                    base, "skipped", note=(f"{name} is neither built in nor a templateRef: Flagger does not judge it.")
                )
            )
    return tuple(out)


def _unrunnable(what: str, query: str, provider: str) -> str:
    """A sentence when the room cannot run the query as Flagger does, else ""."""
    if provider != "prometheus":
        return f"{what} asks {provider}, not Prometheus: the room cannot run it."
    unknown = sorted(set(_PLACEHOLDER.findall(query)) - ROOM_PLACEHOLDERS)
    if unknown:
        names = ", ".join("{{ " + u + " }}" for u in unknown)
        return f"{what} uses {names}, which the room does not fill: it cannot run it."
    return ""
