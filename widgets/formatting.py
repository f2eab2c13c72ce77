"""Plain-text formatting shared by the widgets: no Textual, no colours."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from app.enums import Strategy
from app.sanitize import clean

if TYPE_CHECKING:
    from app.model import MetricSeries, Rollout, Weights

STABLE_CELL = "▇"
CANARY_CELL = "▁"
ELLIPSIS = "…"


def hhmmss(t: float) -> str:
    """Clock time (seconds since the epoch) as UTC HH:MM:SS."""
    return time.strftime("%H:%M:%S", time.gmtime(t))


def duration(seconds: float) -> str:
    """`45s`, `4m 10s`, `2h 05m`."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def coarse_age(seconds: float) -> str:
    """An age read from across a room, changing at most every 10 s: `just now`, `40s ago`, `4m ago`,
    `2h 05m ago` (a wall repaints a tile's line only when this text changes)."""
    seconds = max(0, int(seconds))
    if seconds < 10:
        return "just now"
    if seconds < 60:
        return f"{seconds // 10 * 10}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    return f"{duration(seconds - seconds % 60)} ago"


def split_cells(weights: Weights, width: int) -> tuple[int, int]:
    """How many of `width` cells the stable and the canary get.

    A side with any traffic gets at least one cell, so 1% never looks like 0%.
    """
    if width <= 0:
        return 0, 0
    canary = round(weights.canary * width / 100)
    if weights.canary > 0:
        canary = max(1, canary)
    if weights.stable > 0:
        canary = min(width - 1, canary) if width > 1 else canary
    return width - canary, canary


def traffic_bar(weights: Weights, width: int = 10) -> str:
    """`▇▇▇▇▇▇▁▁▁▁ 60/40`: stable cells, canary cells, stable/canary percent."""
    stable, canary = split_cells(weights, width)
    return f"{STABLE_CELL * stable}{CANARY_CELL * canary} {weights.stable}/{weights.canary}"


def weights_text(weights: Weights) -> str:
    return f"{weights.stable}/{weights.canary}"


def moving(rollout: Rollout) -> bool:
    """True while the router has not yet reached the desired split."""
    return rollout.desired != rollout.actual


def idle_color(active: str) -> str:
    return {"blue": "green", "green": "blue"}.get(active, "")


def strategy_short(strategy: Strategy, width: int = 6) -> str:
    """`canary` / `b/g`; in three cells `can` / `b/g`."""
    if strategy is Strategy.BLUE_GREEN:
        return "b/g"
    return "canary" if width >= 6 else "can"


def fraction(k: int, n: int) -> str:
    return f"{k}/{n}" if n else "–"


def truncate(text: str, width: int) -> str:
    """Cut from the right with an ellipsis (sanitized first: names come from outside)."""
    text = clean(text)
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + ELLIPSIS


def target_label(key: str, width: int, *, namespace: bool = True) -> str:
    """`namespace/name` in `width` cells: the namespace is cut before the name is.

    With `namespace=False` (every row shares one, and the header shows it) only the name.
    """
    key = clean(key)
    ns, _, name = key.rpartition("/")
    if not namespace or not ns:
        return truncate(name, width)
    if len(key) <= width:
        return key
    room = width - len(name) - 2  # "…/"
    if room >= 1:
        return f"{ns[:room]}…/{name}"
    return truncate(name, width)


def short_image(image: str, width: int) -> str:
    """An image reference cut to `width`, keeping the tag, which is what differs.

    `registry.example.com/shop/checkout:1.5.0` -> `checkout:1.5.0`, then, if
    still too long, `…kout:1.5.0`.
    """
    if not image:
        return "–"
    name = clean(image).rsplit("/", 1)[-1]
    if len(name) <= width:
        return name
    return ELLIPSIS + name[-(width - 1) :] if width > 1 else ELLIPSIS


def image_tag(image: str) -> str:
    """`registry/shop/checkout:1.5.0` -> `1.5.0` (a digest reference keeps its first 12 hex digits)."""
    if "@" in image:
        return image.split("@", 1)[1].split(":")[-1][:12]
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def image_repository(image: str) -> str:
    return image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] or "@" in image else image


def image_cell(image: str, other: str, width: int) -> str:
    """The table's image cell: only the tag when both sides share a repository."""
    if not image:
        return "–"
    if not other or image_repository(image) == image_repository(other):
        return truncate(image_tag(image), width)
    return short_image(image, width)


def image_tail(image: str, width: int) -> str:
    """Drop leading path parts (the registry first) until the reference fits."""
    parts = clean(image).split("/")
    while len(parts) > 1 and len("/".join(parts)) > width:
        parts = parts[1:]
    return short_image("/".join(parts), width) if len("/".join(parts)) > width else "/".join(parts)


def number(value: float | None, unit: str = "") -> str:
    """A metric reading with its unit, or `no data`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def threshold_text(series: MetricSeries) -> str:
    """`≥ 99`, `≤ 500`, `95–100` or `any`."""
    if series.min is not None and series.max is not None:
        return f"{series.min:g}–{series.max:g}"
    if series.min is not None:
        return f"≥ {series.min:g}"
    if series.max is not None:
        return f"≤ {series.max:g}"
    return "any"


def metric_label(series: MetricSeries) -> str:
    """`request-success-rate 99.20% (≥ 99)` — the label above a sparkline."""
    return f"{clean(series.name)} {number(series.current, series.unit)} ({threshold_text(series)})"


def sparkline_data(series: MetricSeries, width: int) -> list[float]:
    """The last `width` readings; gaps (no data) are drawn as the floor."""
    values = [v for v in series.values[-width:]]
    present = [v for v in values if v is not None]
    floor = min(present) if present else 0.0
    return [floor if v is None else float(v) for v in values]


PASS_MARK = "●"
FAIL_MARK = "✕"


def history_strip(history: tuple[bool, ...] | list[bool], limit: int = 24) -> str:
    """`●●●✕✕`: the last `limit` ticks, oldest first."""
    return "".join(PASS_MARK if ok else FAIL_MARK for ok in list(history)[-limit:])


def in_time(deadline: float | None, now: float | None) -> str | None:
    """`in 12s`, `now` once due, or None when there is no deadline (or no clock)."""
    if deadline is None or now is None:
        return None
    return "now" if deadline <= now else f"in {duration(deadline - now)}"


def driver_text(driver: str, identity: str | None) -> str:
    """Who holds the lease, from this room's point of view (never this room's pid)."""
    if not driver:  # idle (no release in progress), or a lease that ran out
        return "no room drives it" if identity is None else "no room holds its lease"
    if identity is not None and driver == identity:
        return "driven by this room"
    if identity is None:
        return f"driven by {driver}"
    return f"driven by {driver} — this room is hands-off"
