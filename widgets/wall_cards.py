"""What a wall tile says about a rollout, a flag or an experiment: plain data, no Textual.

A `Card` is a title, a subtitle, up to four lines of styled text and a state
(`ok`, `moving`, `failed`, `idle`) that colours the tile's border. Names and
messages came from outside, so every one of them passes `app.sanitize.clean`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text

from app.enums import Phase, Strategy
from app.sanitize import clean
from widgets.formatting import coarse_age, idle_color

if TYPE_CHECKING:
    from app.model import AuditEvent, Experiment, Flag, Rollout, RoomState

PHASE_STYLE = {
    Phase.SUCCEEDED: "bold green",
    Phase.FAILED: "bold red",
    Phase.PROGRESSING: "bold yellow",
    Phase.PROMOTING: "bold cyan",
    Phase.FINALISING: "bold cyan",
    Phase.WAITING: "bold",
    Phase.INITIALIZED: "dim",
}
STATE_OF_PHASE = {Phase.SUCCEEDED: "ok", Phase.FAILED: "failed", Phase.INITIALIZED: "idle"}
#: Events that change how a rollout is driven, not what was decided about it.
MODE_ACTIONS = frozenset({"pause", "resume", "auto", "manual", "lease", "error"})


@dataclass(frozen=True)
class Card:
    title: str
    subtitle: str
    lines: tuple[Text, ...]
    state: str = "idle"


def _bar(stable: int, canary: int, width: int) -> Text:
    width = max(4, width)
    filled = round(canary * width / 100)
    filled = max(1, filled) if canary > 0 else filled
    filled = min(width - 1, filled) if canary < 100 else width
    return Text.assemble(("█" * (width - filled), "blue"), ("█" * filled, "yellow"))


def decided_at(state: RoomState, key: str) -> float | None:
    """Clock time of the rollout's last analysis decision in the event trail, if the trail has it."""
    last: AuditEvent | None = None
    for event in state.events:
        if event.target == key and event.action not in MODE_ACTIONS:
            last = event
    return last.t if last else None


def rollout_card(r: Rollout, now: float, since: float | None, width: int) -> Card:
    """The tile of one rollout; `since` is when its last decision was made (None: unknown)."""
    inner = max(10, width - 4)
    phase = Text(r.phase.value.upper(), style=PHASE_STYLE.get(r.phase, "bold"))
    if r.paused:
        phase.append("  PAUSED", style="bold magenta")
    if r.steps:
        phase.append(f"  step {r.step}/{r.steps}")
    label = f" {r.actual.stable}/{r.actual.canary}"
    if r.strategy is Strategy.BLUE_GREEN:
        live = r.active_color or "live"
        label = (
            f" {live} live"
            if r.actual.canary == 0
            else f" {live} {r.actual.stable}/{idle_color(live)} {r.actual.canary}"
        )
    traffic = _bar(r.actual.stable, r.actual.canary, inner - len(label))
    traffic.append(label)
    if r.threshold:
        style = "bold red" if r.failed_checks else ""
        checks = Text.assemble(("failed checks ", ""), (f"{r.failed_checks}/{r.threshold}", style))
    else:
        checks = Text(clean(r.stage or r.ready or "", inner), style="dim")
    image = clean(
        (
            r.canary_image if r.canary_image and r.phase not in (Phase.SUCCEEDED, Phase.INITIALIZED) else r.stable_image
        ).rsplit("/", 1)[-1]
    )
    checks.append(("  " if checks.plain else "") + image[-max(0, inner - len(checks.plain) - 2) :], style="dim")
    what = clean(r.decision or r.message)
    age = f" · {coarse_age(now - since)}" if since is not None and what else ""
    what = what or "no decision yet"
    keep = max(1, inner - len(age))
    decision = Text((what[: keep - 1] + "…") if len(what) > keep else what)
    decision.append(age, style="dim")
    state = STATE_OF_PHASE.get(r.phase, "moving")
    return Card(clean(r.name), clean(r.namespace), (phase, traffic, checks, decision), state)


def flag_summary(f: Flag) -> str:
    """The flag's state under the seed's evaluation order (a non-zero percentage wins over `enabled`)."""
    if f.error:
        return "unreadable"
    if f.environments:
        scope = f"in {', '.join(clean(e) for e in f.environments)}"
    else:
        scope = ""
    if f.percentage:
        what = f"{f.percentage:g} % of users"
    elif f.enabled:
        what = "on"
    elif f.user_whitelist:
        what = "whitelist only"
    else:
        what = "off"
    return f"{what} {scope}".strip()


def flag_card(f: Flag, width: int) -> Card:
    summary = flag_summary(f)
    style = "bold red" if f.error else "bold green" if summary != "off" else "dim"
    lines = [Text(summary.upper() if summary in ("on", "off") else summary, style=style)]
    if f.user_whitelist:
        lines.append(Text(f"{len(f.user_whitelist)} users whitelisted", style="dim"))
    if f.error:
        lines.append(Text(clean(f.error, max(10, width - 4)), style="red"))
    return Card(clean(f.name), "flag", tuple(lines), "failed" if f.error else "ok" if summary != "off" else "idle")


def experiment_card(e: Experiment, width: int) -> Card:
    inner = max(10, width - 4)
    head = Text(clean(e.status).upper(), style="bold green" if e.status == "active" else "bold")
    if e.duration_days:
        head.append(f"  day {e.elapsed_days:.1f} of {e.duration_days:g}")
    lines = [head]
    for v in e.variants[:3]:
        rate = f"{100 * v.converters / v.users:.2f} %" if v.users else "-"
        lines.append(Text(clean(f"{v.name}: {v.users} users, {rate}", inner)))
    if e.error:
        lines.append(Text(clean(e.error, inner), style="red"))
    return Card(clean(e.name or e.id), "experiment", tuple(lines[:4]), "failed" if e.error else "ok")
