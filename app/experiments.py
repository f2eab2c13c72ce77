"""A/B experiments: the seed's assignment and layout, and the statistics the room shows.

Assignment reproduces the seed's `ABTestManager` (services/analytics/ab_testing.py):
`int(md5(f"{experiment['name']}:{user_id}").hexdigest(), 16) % 100` against
the cumulative `traffic_split`, in its JSON order, falling back to "control".
Note the seed hashes the experiment's display *name*, not its id: renaming an
experiment reshuffles its users, so Shiftroom keeps the name as stored.

The statistics live in `app.stats` and are re-exported here. Pure code: no I/O.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

from app import safejson
from app.flag_json import shown
from app.model import Experiment, VariantStats
from app.stats import (  # noqa: F401 - re-exported
    SRM_WARN_P,
    Comparison,
    Estimate,
    Progress,
    compare,
    progress,
    srm_p_value,
)

#: The seed keeps `assignment:<exp>:<user>` for 30 days and events for 90.
ASSIGNMENT_TTL_S = 30 * 86400
EVENTS_TTL_S = 90 * 86400


def assignment_key(experiment_id: str, user_id: str) -> str:
    return f"assignment:{experiment_id}:{user_id}"


def events_key(experiment_id: str, user_id: str) -> str:
    return f"events:{experiment_id}:{user_id}"


def _name_and_split(experiment: Mapping[str, Any] | Experiment) -> tuple[str, Mapping[str, Any]]:
    if isinstance(experiment, Experiment):
        return experiment.name, experiment.traffic_split
    if "name" not in experiment:
        raise ValueError("The experiment has no name, and the seed assigns variants by hashing its name.")
    return str(experiment["name"]), experiment.get("traffic_split") or {}


def bucket(name: str, user_id: str) -> int:
    """The seed's `int(md5(f"{name}:{user_id}").hexdigest(), 16) % 100`."""
    return int(hashlib.md5(f"{name}:{user_id}".encode()).hexdigest(), 16) % 100


def assign_variant(experiment: Mapping[str, Any] | Experiment, user_id: str) -> str:
    """The seed's `_assign_variant`: the variant a user gets, status not considered.

    Walks `traffic_split` in its (JSON) order; a split that adds up to less
    than 100 sends the remaining buckets to "control", as the seed does (even
    when there is no variant of that name).
    """
    name, split = _name_and_split(experiment)
    value = bucket(name, user_id)
    cumulative: float = 0
    for variant, percentage in split.items():
        cumulative += percentage
        if value < cumulative:
            return variant
    return "control"


def experiment_variant(
    experiment: Mapping[str, Any] | Experiment | None, user_id: str, existing: str | None = None
) -> str | None:
    """The seed's `get_experiment_variant` without the storage.

    An existing assignment wins (whatever the status); otherwise only an
    "active" experiment assigns; targeting matches everyone, as in the seed.
    """
    if existing:
        return existing
    if experiment is None:
        return None
    status = experiment.status if isinstance(experiment, Experiment) else experiment.get("status")
    if status != "active":
        return None
    return assign_variant(experiment, user_id)


# ---------------------------------------------------------------- parsing


def _num(v: Any) -> bool:
    """A JSON number a double holds (a huge Python int is not: `math.isfinite` would overflow on it)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return abs(v) < 2**1023 if isinstance(v, int) else math.isfinite(v)


def experiment_errors(config: Any) -> list[str]:
    """Reasons (sentences) why `config` is not a usable seed experiment; [] when it is."""
    if not isinstance(config, Mapping):
        return ["it is not a JSON object"]
    errs = []
    if not isinstance(config.get("name"), str) or not config.get("name"):
        errs.append("name must be a non-empty string (the seed hashes it to assign users)")
    split = config.get("traffic_split")
    if not isinstance(split, Mapping) or not split:
        errs.append("traffic_split must be an object of variant -> percent")
    elif not all(_num(v) and v >= 0 for v in split.values()):
        bad = next(k for k, v in split.items() if not (_num(v) and v >= 0))
        errs.append(f"traffic_split.{bad} must be a non-negative number, not {shown(split[bad])}")
    elif abs(sum(split.values()) - 100) > 1e-9:
        errs.append(f"traffic_split adds up to {sum(split.values()):g}, not 100 (the rest goes to control)")
    if "status" in config and not isinstance(config["status"], str):
        errs.append(f"status must be a string, not {safejson.kind(config['status'])} {shown(config['status'])}")
    for key in ("duration_days", "min_sample_size"):
        if key in config and not (_num(config[key]) and config[key] >= 0):
            errs.append(f"{key} must be a non-negative number, not {shown(config[key])}")
    metrics = config.get("metrics")
    if metrics is not None and not isinstance(metrics, Mapping):
        errs.append("metrics must be an object")
    return errs


def parse_experiment(
    experiment_id: str,
    raw: bytes | str | Mapping[str, Any],
    stats: Mapping[str, tuple[int, int]] | None = None,
) -> Experiment:
    """An `Experiment` from the stored JSON (plus per-variant (users, converters)); never raises.

    Invalid data sets `error` to one sentence; the fields that could be read are kept.
    """
    if isinstance(raw, (bytes, bytearray, str)):
        parsed = safejson.loads_object(raw)
        if not parsed.ok:
            return Experiment(
                id=experiment_id, error=f"Experiment {experiment_id} is not a valid JSON object: {parsed.error}."
            )
        config: Any = parsed.value
    else:
        config = raw
    errs = experiment_errors(config)
    if not isinstance(config, Mapping):
        return Experiment(id=experiment_id, error=f"Experiment {experiment_id} is not a JSON object.")
    split_raw = config.get("traffic_split")
    split: dict[str, float] = {}
    if isinstance(split_raw, Mapping):
        split = {str(k): float(v) for k, v in split_raw.items() if _num(v)}
    stats = stats or {}
    names = list(split) + [v for v in stats if v not in split]
    variants = tuple(
        VariantStats(
            name=v,
            weight=split.get(v, 0.0),
            users=int(stats.get(v, (0, 0))[0]),
            converters=int(stats.get(v, (0, 0))[1]),
        )
        for v in names
    )
    metrics = config.get("metrics")
    primary = metrics.get("primary", "") if isinstance(metrics, Mapping) else ""
    name = config.get("name")
    status = config.get("status", "draft")
    dur = config.get("duration_days", 0)
    mss = config.get("min_sample_size", 0)
    error = ""
    if errs:
        error = f"Experiment {experiment_id}: {'; '.join(errs)}."
    return Experiment(
        id=experiment_id,
        name=name if isinstance(name, str) else "",
        status=status if isinstance(status, str) else "draft",
        primary_metric=primary if isinstance(primary, str) else "",
        traffic_split=split,
        variants=variants,
        duration_days=float(dur) if _num(dur) and dur >= 0 else 0.0,
        min_sample_size=int(mss) if _num(mss) and mss >= 0 else 0,
        error=error,
    )


def import_experiments(source: bytes | str | Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(id, config) pairs from the seed's `experiments.json`, in file order.

    `source` is the JSON text (a dict of id -> config), an already parsed
    dict, or a ConfigMap (text or mapping) whose `data["experiments.json"]`
    holds it. Raises ValueError with one sentence when it is none of these;
    individual configs are not judged here (see `experiment_errors`).
    """
    data: Any = source
    if isinstance(source, (bytes, bytearray, str)):
        text, problem = safejson.decode(source)
        if problem:
            raise ValueError(f"The experiments file is not readable text: it {problem}.")
        parsed = safejson.loads(text)
        if parsed.ok:
            data = parsed.value
        elif text.lstrip().startswith(("{", "[")):
            raise ValueError(f"The experiments file is not valid JSON: {parsed.error}.")
        else:
            from app.yamlfile import YamlFileError, safe_yaml  # a ConfigMap manifest is YAML

            try:
                data = safe_yaml(text, "the experiments file")
            except YamlFileError as exc:
                raise ValueError(str(exc)) from None
    if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping) and "experiments.json" in data["data"]:
        return import_experiments(str(data["data"]["experiments.json"]))
    if not isinstance(data, Mapping):
        raise ValueError("The experiments file must hold an object of experiment id -> config.")
    out = []
    for key, config in data.items():
        if not isinstance(config, Mapping):
            raise ValueError(f"Experiment {key} in the experiments file is not an object.")
        out.append((str(key), dict(config)))
    return out
