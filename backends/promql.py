"""PromQL metric templates: Flagger's vocabulary, safe rendering, batched forms.

A `MetricTemplate` is a PromQL query with Flagger's placeholders:

    {{ namespace }}   the workload's namespace
    {{ target }}      the workload (Istio `destination_workload`, Linkerd
                      `deployment`, NGINX `ingress`)
    {{ interval }}    the check's window, e.g. `1m`

Values substituted into the query are escaped for the string literal they
land in (backslash, quotes, newline), and regex-escaped when that literal
follows `=~` or `!~`; a namespace or target placed outside a quoted label
value is refused, so a workload name can never inject PromQL.

Built-in templates (`builtin_templates(provider)`) exist for Istio, NGINX
ingress and Linkerd: `request-success-rate` (percent non-5xx),
`request-duration` (p99, milliseconds) and `error-rate` (percent 5xx), each
scoped to one workload in one namespace. They also carry a batched form, with
`{{ namespaces }}` / `{{ targets }}` rendered as escaped regex alternations,
that answers for many workloads in one query grouped `by (<ns>, <target>)`.
Templates without a batched form are batched by `joined_query`: each target's
query is labelled with `label_replace` and the results are joined with `or`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from backends.base import Invalid

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
PER_TARGET = ("namespace", "target")
KNOWN = ("namespace", "target", "interval")
BATCH = ("namespaces", "targets")
#: Labels `joined_query` puts on each target's series.
NS_LABEL, TARGET_LABEL = "shiftroom_namespace", "shiftroom_target"

_REGEX_META = set("\\.+*?()|[]{}^$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


class TemplateError(ValueError):
    """A template that cannot be rendered; `str()` is the reason, without a final period."""


# ---------------------------------------------------------------- escaping


def escape_string(value: str, quote: str = '"') -> str:
    """`value` as the inside of a PromQL string literal delimited by `quote`."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return out.replace(quote, "\\" + quote)


def escape_regex(value: str) -> str:
    """`value` matched literally by an RE2 regular expression."""
    return "".join("\\" + c if c in _REGEX_META else c for c in value)


def alternation(values: Sequence[str]) -> str:
    """An RE2 alternation matching exactly these values (deduplicated, order kept)."""
    return "|".join(escape_regex(v) for v in dict.fromkeys(values))


def escape_replacement(value: str) -> str:
    """`value` as a `label_replace` replacement, where `$` starts a group reference."""
    return value.replace("$", "$$")


# ---------------------------------------------------------------- durations


def parse_duration(text: str | float | int) -> float:
    """Prometheus durations ("30s", "1m", "1m30s", "500ms") or plain seconds, in seconds."""
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        s = str(text).strip()
        try:
            seconds = float(s)
        except ValueError:
            parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", s)
            if not parts or "".join(n + u for n, u in parts) != s:
                raise TemplateError(f"'{text}' is not a duration such as 30s or 1m") from None
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise TemplateError(f"'{text}' is not a positive duration")
    return seconds


def format_duration(seconds: float) -> str:
    """A PromQL duration literal: whole seconds as `90s`, anything finer in milliseconds."""
    ms = max(1, round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _Slot:
    name: str
    start: int
    end: int
    quote: str  # '"', "'", "`" or "" (outside any string literal)
    regex: bool  # the literal follows =~ or !~


def _slots(text: str) -> list[_Slot]:
    """Every placeholder of `text` with the string-literal context it sits in."""
    slots: list[_Slot] = []
    quote, regex, comment, i = "", False, False, 0
    while i < len(text):
        m = PLACEHOLDER.match(text, i)
        if m:
            slots.append(_Slot(m.group(1), m.start(), m.end(), "" if comment else quote, regex))
            i = m.end()
            continue
        c = text[i]
        if comment:
            comment = c != "\n"
        elif quote:
            if c == "\\" and quote != "`":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
            before = text[:i].rstrip()
            regex = before.endswith("=~") or before.endswith("!~")
        elif c == "#":
            comment = True
        i += 1
    return slots


def render(text: str, values: Mapping[str, str | Sequence[str]]) -> str:
    """Fill the placeholders of `text`; a list value becomes an escaped regex alternation."""
    out, pos = [], 0
    for slot in _slots(text):
        if slot.name not in values:
            known = ", ".join(f"{{{{ {k} }}}}" for k in values)
            raise TemplateError(f"it uses the unknown placeholder {{{{ {slot.name} }}}} (known: {known})")
        value = values[slot.name]
        if isinstance(value, str):
            if slot.name == "interval":
                literal = value  # produced by format_duration: safe anywhere
            elif not slot.quote:
                raise TemplateError(f"{{{{ {slot.name} }}}} must sit inside a quoted label value")
            else:
                literal = escape_regex(value) if slot.regex else value
        else:
            if not (slot.quote and slot.regex):
                raise TemplateError(f'{{{{ {slot.name} }}}} must sit inside a regex label match (=~"...")')
            literal = alternation(list(value))
        if slot.quote == "`":
            if "`" in literal:
                raise TemplateError(f"the value of {{{{ {slot.name} }}}} contains a backtick")
        elif slot.quote:
            literal = escape_string(literal, slot.quote)
        out.append(text[pos : slot.start])
        out.append(literal)
        pos = slot.end
    out.append(text[pos:])
    return "".join(out)


def _mapping(value: object) -> Mapping[str, Any]:
    """`value` when it is a mapping, else an empty one (a Flagger field that is missing or of the wrong kind)."""
    return value if isinstance(value, Mapping) else {}


def placeholders(text: str) -> set[str]:
    return {m.group(1) for m in PLACEHOLDER.finditer(text)}


# ---------------------------------------------------------------- templates


class MetricTemplate(BaseModel):
    """A named PromQL query; see the module docstring for the placeholders."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    query: str
    batch_query: str | None = None  # uses {{ namespaces }} / {{ targets }}, grouped by `group_by`
    group_by: tuple[str, str] | None = None  # (namespace label, target label) of the batched result
    source: str = "user"  # "builtin:<provider>", "flagger:<namespace>/<name>", "user"

    @property
    def per_target(self) -> bool:
        """Whether the query depends on the workload (otherwise one value serves every target)."""
        return bool(placeholders(self.query) & set(PER_TARGET))

    def render(self, namespace: str, target: str, interval: str) -> str:
        return render(self.query, {"namespace": namespace, "target": target, "interval": interval})

    def render_batch(self, targets: Sequence[tuple[str, str]], interval: str) -> str:
        if not self.batch_query:
            raise TemplateError(f"template '{self.name}' has no batched form")
        return render(
            self.batch_query,
            {
                "namespaces": [ns for ns, _ in targets],
                "targets": [t for _, t in targets],
                "interval": interval,
            },
        )

    @classmethod
    def from_flagger(cls, obj: Mapping[str, Any] | str) -> MetricTemplate:
        """A Flagger `MetricTemplate` (flagger.app/v1beta1), as a mapping or YAML text, taken as it is."""
        if isinstance(obj, str):
            try:
                obj = yaml.safe_load(obj)
            except yaml.YAMLError as exc:
                reason = " ".join(str(exc).split())
                raise Invalid("prometheus", f"The Flagger MetricTemplate is not valid YAML ({reason}).") from None
        if not isinstance(obj, Mapping):
            raise Invalid(
                "prometheus", "A Flagger MetricTemplate must be a mapping with apiVersion, kind, metadata and spec."
            )
        api, kind = str(obj.get("apiVersion", "")), obj.get("kind")
        meta, spec = _mapping(obj.get("metadata")), _mapping(obj.get("spec"))
        name = str(meta.get("name") or "")
        label = f"MetricTemplate '{name}'" if name else "The MetricTemplate"
        if not api.startswith("flagger.app/") or kind != "MetricTemplate":
            raise Invalid(
                "prometheus",
                f"{label} must have apiVersion flagger.app/v1beta1 and kind MetricTemplate, "
                f"not {api or '(none)'} {kind or '(none)'}.",
            )
        provider = _mapping(spec.get("provider"))
        ptype = str(provider.get("type") or "prometheus")
        if ptype != "prometheus":
            raise Invalid(
                "prometheus", f"{label} uses provider type '{ptype}'; Shiftroom only runs prometheus templates."
            )
        query = spec.get("query")
        if not name or not isinstance(query, str) or not query.strip():
            raise Invalid("prometheus", f"{label} needs metadata.name and a non-empty spec.query.")
        ns = str(meta.get("namespace") or "")
        unknown = placeholders(query) - set(KNOWN)
        if unknown:
            raise Invalid(
                "prometheus",
                f"{label} uses {', '.join(sorted(unknown))}, which Shiftroom does not provide "
                f"(it provides namespace, target and interval).",
            )
        return cls(name=name, query=query.strip(), source=f"flagger:{ns + '/' if ns else ''}{name}")


def joined_query(template: MetricTemplate, targets: Sequence[tuple[str, str]], interval: str) -> str:
    """One query answering `template` for every target: each target's result labelled with
    `shiftroom_namespace` / `shiftroom_target` by `label_replace`, the whole joined with `or`."""
    parts = []
    for ns, target in targets:
        q = template.render(ns, target, interval)
        q = f'label_replace(({q}), "{NS_LABEL}", "{escape_string(escape_replacement(ns))}", "", "")'
        parts.append(f'label_replace({q}, "{TARGET_LABEL}", "{escape_string(escape_replacement(target))}", "", "")')
    return "\n or ".join(parts)


# ---------------------------------------------------------------- built-ins


@dataclass(frozen=True)
class Provider:
    """Where a mesh or ingress keeps its request counter and latency histogram."""

    name: str
    requests: str
    duration_bucket: str
    ns_label: str
    target_label: str
    failed: str  # matcher selecting failed requests
    succeeded: str  # matcher selecting the others
    scope: str = ""  # fixed matchers, e.g. reporter="destination"
    to_ms: float = 1.0  # multiply the histogram's unit to get milliseconds


PROVIDERS: dict[str, Provider] = {
    "istio": Provider(
        "istio",
        "istio_requests_total",
        "istio_request_duration_milliseconds_bucket",
        "destination_workload_namespace",
        "destination_workload",
        'response_code=~"5.*"',
        'response_code!~"5.*"',
        'reporter="destination"',
    ),
    "nginx": Provider(
        "nginx",
        "nginx_ingress_controller_requests",
        "nginx_ingress_controller_request_duration_seconds_bucket",
        "namespace",
        "ingress",
        'status=~"5.*"',
        'status!~"5.*"',
        to_ms=1000.0,
    ),
    "linkerd": Provider(
        "linkerd",
        "response_total",
        "response_latency_ms_bucket",
        "namespace",
        "deployment",
        'classification="failure"',
        'classification!="failure"',
        'direction="inbound"',
    ),
}
BUILTIN = ("request-success-rate", "request-duration", "error-rate")


def _ratio(p: Provider, matcher: str, sel: str, by: str) -> str:
    """Percent of requests matching `matcher`, 0 (not absent) when none did."""
    part = f"sum{by}(rate({p.requests}{{{sel},{matcher}}}[{{{{ interval }}}}]))"
    whole = f"sum{by}(rate({p.requests}{{{sel}}}[{{{{ interval }}}}]))"
    on = by.replace(" by ", " on ") if by else ""
    return f"({part} or{on or ' '}0 * {whole}) / {whole} * 100".replace("  ", " ")


def _duration(p: Provider, sel: str, by_le: str) -> str:
    q = f"histogram_quantile(0.99, sum{by_le}(rate({p.duration_bucket}{{{sel}}}[{{{{ interval }}}}])))"
    return f"{q} * {p.to_ms:g}" if p.to_ms != 1.0 else q


def builtin_templates(provider: str = "istio") -> dict[str, MetricTemplate]:
    """Flagger's three built-in metrics for `provider`, scoped to one workload (and batched)."""
    try:
        p = PROVIDERS[provider]
    except KeyError:
        raise Invalid(
            "prometheus",
            f"There are no built-in metric templates for provider '{provider}'; use one of {', '.join(PROVIDERS)}.",
        ) from None
    scope = f"{p.scope}," if p.scope else ""
    one = f'{scope}{p.ns_label}="{{{{ namespace }}}}",{p.target_label}="{{{{ target }}}}"'
    many = f'{scope}{p.ns_label}=~"{{{{ namespaces }}}}",{p.target_label}=~"{{{{ targets }}}}"'
    by = f" by ({p.ns_label}, {p.target_label}) "
    by_le = f" by (le, {p.ns_label}, {p.target_label}) "
    group = (p.ns_label, p.target_label)
    src = f"builtin:{p.name}"
    return {
        "request-success-rate": MetricTemplate(
            name="request-success-rate",
            query=_ratio(p, p.succeeded, one, ""),
            batch_query=_ratio(p, p.succeeded, many, by),
            group_by=group,
            source=src,
        ),
        "request-duration": MetricTemplate(
            name="request-duration",
            query=_duration(p, one, " by (le) "),
            batch_query=_duration(p, many, by_le),
            group_by=group,
            source=src,
        ),
        "error-rate": MetricTemplate(
            name="error-rate",
            query=_ratio(p, p.failed, one, ""),
            batch_query=_ratio(p, p.failed, many, by),
            group_by=group,
            source=src,
        ),
    }
