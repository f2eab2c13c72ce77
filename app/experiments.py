"""A/B experiments: the seed's assignment, and the statistics the room shows."""

from __future__ import annotations

import hashlib
from typing import Any


def assign_variant(experiment: dict[str, Any], user_id: str) -> str | None:
    """The seed's md5 bucketing against the cumulative `traffic_split`, in JSON order."""
    split = experiment.get("traffic_split") or {}
    name = experiment.get("name", "")
    bucket = int(hashlib.md5(f"{name}:{user_id}".encode()).hexdigest(), 16) % 100
    cumulative = 0.0
    for variant, pct in split.items():
        cumulative += pct
        if bucket < cumulative:
            return variant
    return "control" if split else None
