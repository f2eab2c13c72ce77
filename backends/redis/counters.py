"""Experiment tracking in the seed's layout, and the counters Shiftroom keeps beside it.

The seed's `ABTestManager._track_event` pushes one JSON document per event
onto `events:<exp>:<user>`:

    {"timestamp": "<utcnow().isoformat()>", "experiment_id": ..., "user_id": ...,
     "event_type": "assigned" | "conversion", "data": {"variant": ..., ["metric": ..., "value": ...]}}

and computes results by reading every list (`KEYS` + `LRANGE`). Shiftroom
writes the same events and, in the same transaction, per-variant counters in
the hash `shiftroom:exp:<id>:counters`:

    users:<variant>                 "assigned" events (the seed's "assignments")
    conversions:<variant>           "conversion" events, any metric (the seed's "conversions")
    conversions:<variant>:<metric>  "conversion" events of one metric
    sum:<variant>:<metric>          sum of the events' numeric `value`
    sumsq:<variant>:<metric>        sum of their squares
    first_t                         clock time of the first assignment (for elapsed days)

plus one set of user ids per (variant, metric) of the users who converted
(`shiftroom:exp:<id>:<variant>:<metric>:converters`) and one per variant for
any metric (`shiftroom:exp:<id>:<variant>:converters`). Variant and metric
names are written with `%` and `:` percent-encoded so a name can never be
mistaken for a separator.

Everything here is pure: `Tally` folds seed events into those counters (the
rebuild), `results_from_counters` reads them back.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ASSIGNED = "assigned"
CONVERSION = "conversion"
FIRST_T = "first_t"


# ---------------------------------------------------------------- seed events


def seed_timestamp(t: float) -> str:
    """`datetime.utcnow().isoformat()` at clock time `t` (naive, microseconds unless zero)."""
    return datetime.fromtimestamp(t, UTC).replace(tzinfo=None).isoformat()


def seed_event(experiment_id: str, user_id: str, event_type: str, data: Mapping[str, Any], t: float) -> str:
    """The seed's event JSON, key order and `json.dumps` separators included."""
    event = {
        "timestamp": seed_timestamp(t),
        "experiment_id": experiment_id,
        "user_id": user_id,
        "event_type": event_type,
        "data": dict(data),
    }
    return json.dumps(event)


def parse_seed_timestamp(text: object) -> float | None:
    """Clock time of a seed event's naive-UTC `timestamp`, None when unreadable."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def numeric_value(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


# ---------------------------------------------------------------- counter names


def enc(name: str) -> str:
    return name.replace("%", "%25").replace(":", "%3A")


def dec(name: str) -> str:
    return name.replace("%3A", ":").replace("%3a", ":").replace("%25", "%")


def counters_key(experiment_id: str) -> str:
    return f"shiftroom:exp:{experiment_id}:counters"


def converters_key(experiment_id: str, variant: str, metric: str | None = None) -> str:
    """The set of users of `variant` who converted on `metric` (None: on any metric)."""
    if metric is None:
        return f"shiftroom:exp:{experiment_id}:{enc(variant)}:converters"
    return f"shiftroom:exp:{experiment_id}:{enc(variant)}:{enc(metric)}:converters"


def users_field(variant: str) -> str:
    return f"users:{enc(variant)}"


def conversions_field(variant: str, metric: str | None = None) -> str:
    return f"conversions:{enc(variant)}" if metric is None else f"conversions:{enc(variant)}:{enc(metric)}"


def sum_field(variant: str, metric: str) -> str:
    return f"sum:{enc(variant)}:{enc(metric)}"


def sumsq_field(variant: str, metric: str) -> str:
    return f"sumsq:{enc(variant)}:{enc(metric)}"


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class MetricTotals:
    conversions: int = 0  # events
    converters: int = 0  # distinct users
    total: float = 0.0  # sum of values
    total_sq: float = 0.0  # sum of squared values

    @property
    def mean(self) -> float | None:
        return self.total / self.conversions if self.conversions else None

    @property
    def variance(self) -> float | None:
        """Sample variance of the values (None below two events)."""
        n = self.conversions
        if n < 2:
            return None
        return max(0.0, (self.total_sq - self.total * self.total / n) / (n - 1))


@dataclass(frozen=True)
class VariantResult:
    name: str
    users: int = 0  # "assigned" events
    conversions: int = 0  # "conversion" events, any metric
    converters: int = 0  # distinct users with a conversion, any metric
    metrics: dict[str, MetricTotals] = field(default_factory=dict)

    def converters_for(self, metric: str | None) -> int:
        """Converters on `metric`, or on any metric when nothing was tracked under that name.

        The seed's ConfigMap names a rate ("conversion_rate") as its primary
        metric while its callers track events under their own names, and the
        seed's results count every conversion whatever its metric.
        """
        if metric and metric in self.metrics:
            return self.metrics[metric].converters
        return self.converters


def results_from_counters(
    fields: Mapping[str, Any], converters: Mapping[tuple[str, str | None], int] | None = None
) -> dict[str, VariantResult]:
    """Per-variant results from the counters hash and the converter set sizes, in first-seen order."""
    converters = converters or {}
    users: dict[str, int] = {}
    conv: Counter[str] = Counter()
    metric: dict[str, dict[str, list[float]]] = {}
    for raw_key, raw_value in fields.items():
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        value = raw_value.decode() if isinstance(raw_value, bytes) else str(raw_value)
        kind, _, rest = key.partition(":")
        parts = [dec(p) for p in rest.split(":")]
        try:
            number = float(value)
        except ValueError:
            continue
        if kind == "users" and len(parts) == 1:
            users[parts[0]] = users.get(parts[0], 0) + int(number)
        elif kind == "conversions" and len(parts) == 1:
            users.setdefault(parts[0], 0)
            conv[parts[0]] += int(number)
        elif kind in ("conversions", "sum", "sumsq") and len(parts) == 2:
            v, m = parts
            users.setdefault(v, 0)
            slot = metric.setdefault(v, {}).setdefault(m, [0.0, 0.0, 0.0])
            slot[("conversions", "sum", "sumsq").index(kind)] += number
    out: dict[str, VariantResult] = {}
    for v, n in users.items():
        metrics = {
            m: MetricTotals(conversions=int(c), converters=int(converters.get((v, m), 0)), total=s, total_sq=sq)
            for m, (c, s, sq) in metric.get(v, {}).items()
        }
        out[v] = VariantResult(
            name=v, users=n, conversions=conv[v], converters=int(converters.get((v, None), 0)), metrics=metrics
        )
    return out


def seed_results(results: Mapping[str, VariantResult]) -> dict[str, dict[str, Any]]:
    """The `variants` part of the seed's `get_experiment_results`, from results."""
    out: dict[str, dict[str, Any]] = {}
    for v, r in results.items():
        out[v] = {
            "assignments": r.users,
            "conversions": r.conversions,
            "conversion_rate": r.conversions / r.users if r.users else 0,
        }
    return out


# ---------------------------------------------------------------- folding events (the rebuild)


class Tally:
    """Folds seed events into counters, as the seed's results would count them.

    An event whose JSON is unreadable is counted in `malformed`, one without a
    variant in `skipped` (the seed would crash on the first and file the second
    under a `None` variant); neither stops the fold.
    """

    def __init__(self) -> None:
        self.users: Counter[str] = Counter()
        self.conversions: Counter[str] = Counter()
        self.metric_conversions: Counter[tuple[str, str]] = Counter()
        self.sums: dict[tuple[str, str], float] = {}
        self.sumsqs: dict[tuple[str, str], float] = {}
        self.converters: dict[tuple[str, str | None], set[str]] = {}
        self.variants: dict[str, None] = {}  # first-seen order
        self.first_t: float | None = None  # earliest readable "assigned" timestamp
        self.events = 0
        self.malformed = 0
        self.skipped = 0

    def add(self, raw: bytes | str, user_from_key: str = "") -> None:
        self.events += 1
        try:
            event = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.malformed += 1
            return
        if not isinstance(event, dict):
            self.malformed += 1
            return
        data = event.get("data")
        data = data if isinstance(data, dict) else {}
        variant = data.get("variant")
        if not isinstance(variant, str):
            self.skipped += 1
            return
        self.variants.setdefault(variant, None)
        kind = event.get("event_type")
        if kind == ASSIGNED:
            self.users[variant] += 1
            t = parse_seed_timestamp(event.get("timestamp"))
            if t is not None and (self.first_t is None or t < self.first_t):
                self.first_t = t
        elif kind == CONVERSION:
            user = event.get("user_id")
            user = user if isinstance(user, str) else user_from_key
            metric = data.get("metric")
            self.conversions[variant] += 1
            self.converters.setdefault((variant, None), set()).add(user)
            if isinstance(metric, str):
                key = (variant, metric)
                self.metric_conversions[key] += 1
                self.converters.setdefault(key, set()).add(user)
                value = numeric_value(data.get("value"))
                if value is not None:
                    self.sums[key] = self.sums.get(key, 0.0) + value
                    self.sumsqs[key] = self.sumsqs.get(key, 0.0) + value * value

    def extend(self, raws: Iterable[bytes | str], user_from_key: str = "") -> None:
        for raw in raws:
            self.add(raw, user_from_key)

    def counter_fields(self) -> dict[str, int | float]:
        """The counters hash this tally stands for."""
        out: dict[str, int | float] = {}
        for v in self.variants:
            out[users_field(v)] = self.users[v]
            out[conversions_field(v)] = self.conversions[v]
        for (v, m), n in self.metric_conversions.items():
            out[conversions_field(v, m)] = n
            if (v, m) in self.sums:
                out[sum_field(v, m)] = self.sums[(v, m)]
                out[sumsq_field(v, m)] = self.sumsqs[(v, m)]
        if self.first_t is not None:
            out[FIRST_T] = self.first_t
        return out

    def results(self) -> dict[str, VariantResult]:
        sizes = {k: len(s) for k, s in self.converters.items()}
        return results_from_counters({k: str(v) for k, v in self.counter_fields().items()}, sizes)
