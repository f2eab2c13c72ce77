"""Sample user ids for previews of a flag change, and who a change or a kill affects.

Pure helpers (no Textual, no I/O besides reading what the engine already
holds): the flag editor and the kill switch confirmation use them.
"""

from __future__ import annotations

import inspect

import json
import math
from collections.abc import Mapping
from typing import Any

from app.control.store_ops import known_environments
from app.flags import served
from backends.base import BackendError


async def experiment_user_ids(engine: Any, limit: int = 10_000) -> tuple[list[str], str]:
    """User ids to preview a flag change on, and where they came from.

    A store that can list assigned users (`sample_user_ids`) gives those;
    the simulator's population numbers its users `sim-user-N`, so the ids
    assigned so far are regenerated; otherwise `user-0..user-{limit-1}`.
    """
    store = engine.store
    sampler = getattr(store, "sample_user_ids", None)
    if callable(sampler):
        try:
            got = sampler(limit)
            ids = [str(u) for u in (await got if inspect.isawaitable(got) else got)]
        except BackendError:
            ids = []  # the store is down: preview on synthetic ids rather than not at all
        if ids:
            return ids, "assigned experiment users"
    if getattr(store, "population", None) is not None:
        state = getattr(engine, "state", None)
        n = min(limit, max((e.users for e in getattr(state, "experiments", ())), default=0))
        if n:
            return [f"sim-user-{i}" for i in range(n)], "simulated experiment users"
    return [f"user-{i}" for i in range(limit)], f"user-0..user-{limit - 1}"


def parse_user_ids(text: str) -> list[str]:
    """Ids pasted one per line, or separated by commas, spaces or tabs; JSON arrays work too."""
    text = text.strip()
    if text.startswith("["):
        try:
            data = json.loads(text)
            if isinstance(data, list):
                return [str(u) for u in data if u is not None]
        except ValueError:
            pass
    return [part for part in text.replace(",", " ").split() if part]


def share(hist: list[int], percentage: float) -> float:
    """The fraction of the histogram's ids a percentage serves (buckets b < P)."""
    total = sum(hist)
    return sum(hist[: math.ceil(max(0.0, min(100.0, percentage)))]) / total if total else 0.0


def kill_impact(before: Mapping[str, Any], after: Mapping[str, Any], name: str, user_ids: list[str],
                label: str) -> list[str]:
    """Per environment, how many sample ids have the flag now and after the kill."""
    envs = known_environments(before)[:4] or ["production"]
    lines = []
    for env in envs:
        now = sum(served(before, u, env, name=name) for u in user_ids)
        later = sum(served(after, u, env, name=name) for u in user_ids)
        lines.append(f"{env}: {now:,} of {len(user_ids):,} ({label}) have it → {later:,}")
    wl = before.get("userWhitelist")
    if isinstance(wl, list) and wl:
        shown = ", ".join(str(u) for u in wl[:5]) + (f" and {len(wl) - 5} more" if len(wl) > 5 else "")
        lines.append(f"whitelisted ids lose it: {shown}")
    return lines
