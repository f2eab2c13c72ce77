"""How a verb prints: aligned text for people, one JSON object per line for pipelines (`--json`).

Every string that came from the cluster (names, images, messages) passes
`app.sanitize.clean` before it reaches the terminal, in both forms.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from app.model import Rollout
from app.sanitize import clean


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rollout_object(r: Rollout, t: float) -> dict[str, Any]:
    """The `status` line of one rollout (the README documents every field)."""
    return {
        "kind": "status",
        "time": iso(t),
        "target": clean(r.key),
        "name": clean(r.name),
        "namespace": clean(r.namespace),
        "strategy": r.strategy.value,
        "phase": r.phase.value,
        "paused": r.paused,
        "weights": {"stable": r.actual.stable, "canary": r.actual.canary},
        "step": r.step,
        "steps": r.steps,
        "failed_checks": r.failed_checks,
        "threshold": r.threshold,
        "stable_image": clean(r.stable_image),
        "canary_image": clean(r.canary_image),
        "driven_by": r.driven_by,
        "message": clean(r.message),
        "decision": clean(r.decision),
    }


def emit(obj: dict[str, Any], out: TextIO | None = None) -> None:
    print(json.dumps(obj, ensure_ascii=False, sort_keys=False), file=out or sys.stdout, flush=True)


COLUMNS = ("TARGET", "STRATEGY", "PHASE", "WEIGHT", "STEP", "FAILED", "IMAGE", "LAST DECISION")


def rollout_row(r: Rollout) -> tuple[str, ...]:
    image = r.canary_image if r.canary_image and r.canary_image != r.stable_image else r.stable_image
    phase = r.phase.value + (" (paused)" if r.paused else "")
    step = f"{r.step}/{r.steps}" if r.steps else "-"
    failed = f"{r.failed_checks}/{r.threshold}" if r.threshold else "-"
    return (
        clean(r.key),
        r.strategy.value,
        phase,
        f"{r.actual.stable}/{r.actual.canary}",
        step,
        failed,
        clean(image, 40),
        clean(r.decision or r.message, 80),
    )


def table(rows: list[tuple[str, ...]], header: tuple[str, ...] = COLUMNS) -> str:
    """Columns padded to their widest cell; the last column is never padded."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def duration(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"
