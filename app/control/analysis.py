"""What the canary and blue-green analyses share: building checks, the why text, history, weights text."""

from __future__ import annotations

from app.model import Check, MetricCheck, MetricSample

HISTORY = 24  # pass/fail ticks kept for the why pane


def weights_text(canary: int | None) -> str:
    """`90/10`: stable/canary percent, as the why pane and the audit log show weights."""
    return "" if canary is None else f"{100 - canary}/{canary}"


def number(v: float | None) -> str:
    return "no data" if v is None else f"{v:.4g}"


def build_check(m: MetricCheck, sample: MetricSample | None) -> Check:
    value = sample.value if sample and sample.ok else None
    return Check(
        name=m.name,
        value=value,
        passed=m.passes(value),
        critical=m.critical(value),
        status=sample.status.value if sample else "no-data",
        error=(sample.error if sample else "no sample"),
        query=sample.query if sample else "",
        range=m.range_text,
    )


def build_checks(metrics: tuple[MetricCheck, ...], samples: dict[str, MetricSample]) -> list[Check]:
    return [build_check(m, samples.get(m.name)) for m in metrics]


def remember(history: list[bool], ok: bool) -> list[bool]:
    return (history + [ok])[-HISTORY:]


def why(r: Check) -> str:
    if r.value is None:
        return f"{r.name}: no data ({r.error or r.status})"
    return f"{r.name} = {number(r.value)} outside {r.range}"


def why_all(failed: list[Check]) -> str:
    """One sentence for the failed checks; one shared 'no data' reason is said once."""
    nodata = [r for r in failed if r.value is None]
    errors = {r.error or r.status for r in nodata}
    if len(nodata) > 1 and len(errors) == 1:
        rest = [why(r) for r in failed if r.value is not None]
        return "; ".join([f"no data for {', '.join(r.name for r in nodata)} ({errors.pop()})"] + rest)
    return "; ".join(why(r) for r in failed)
