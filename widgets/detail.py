"""The detail pane of the selected rollout: title, traffic, images, the why pane, then its cluster Events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.widgets import Static

from app.enums import Strategy
from app.sanitize import clean
from widgets.formatting import fraction, idle_color, image_tail
from widgets.object_events import ObjectEvents
from widgets.static_update import set_content
from widgets.traffic import TrafficSplit
from widgets.why import CheckView, WhyPane

if TYPE_CHECKING:
    from app.model import MetricSeries, Rollout

IMAGE_WIDTH = 38  # fits the 50-column pane after the "stable " label

PHASE_STYLE = {
    "Succeeded": "bold $success",
    "Failed": "bold $error",
    "Progressing": "$accent",
    "Promoting": "$accent",
    "Finalising": "$accent",
}


def title_content(rollout: Rollout | None) -> Content:
    """Two lines: the target (and production mark), then strategy · phase · control."""
    if rollout is None:
        return Content.styled("no rollout selected", "$text-muted")
    first: list[tuple[str, str] | str] = [(clean(rollout.key), "bold")]
    if rollout.production:
        first += ["  ", ("! production", "bold $error")]
    second: list[tuple[str, str] | str] = [
        ("blue-green" if rollout.strategy is Strategy.BLUE_GREEN else "canary", "$text-muted"),
        " · ",
        (rollout.phase.value, PHASE_STYLE.get(rollout.phase.value, "")),
        " · ",
        ("auto" if rollout.auto else "manual", "$text-muted" if rollout.auto else "bold $primary"),
    ]
    if rollout.paused:
        second += [" · ", ("PAUSED", "bold $warning")]
    return Content("\n").join([Content.assemble(*first), Content.assemble(*second)])


def facts_content(rollout: Rollout, width: int = IMAGE_WIDTH) -> Content:
    """Images, progress and blue-green stage, one short line each (the why pane has the rest)."""
    old_label, new_label = "stable ", "canary "
    if rollout.strategy is Strategy.BLUE_GREEN and rollout.active_color:
        old_label, new_label = f"{rollout.active_color:<6}", f"{idle_color(rollout.active_color) or 'idle':<6}"
    lines = [
        Content.assemble(
            (old_label, "$text-muted"), clean(image_tail(rollout.stable_image, width)) if rollout.stable_image else "–"
        ),
        Content.assemble(
            (new_label, "$text-muted"),
            (clean(image_tail(rollout.canary_image, width)) if rollout.canary_image else "–", "$canary-color"),
        ),
    ]
    progress: list[tuple[str, str] | str] = []
    if rollout.strategy is Strategy.CANARY:
        progress += [("step ", "$text-muted"), fraction(rollout.step, rollout.steps)]
    if rollout.ready:
        progress += ["  " if progress else "", ("ready ", "$text-muted"), rollout.ready]
    if progress:
        lines.append(Content.assemble(*progress))
    lines += replica_set_lines(rollout, width)
    if rollout.stage:
        stage: list[tuple[str, str] | str] = [("stage ", "$text-muted"), (rollout.stage, "bold $accent")]
        if rollout.steps:
            stage += ["  ", (f"({fraction(rollout.step, rollout.steps)})", "$text-muted")]
        lines.append(Content.assemble(*stage))
    return Content("\n").join(lines)


TAG_STYLE = {"stable": "$success", "active": "$success", "canary": "$canary-color", "preview": "$accent"}


def replica_set_lines(rollout: Rollout, width: int = IMAGE_WIDTH) -> list[Content]:
    """Argo Rollouts: each ReplicaSet as `kubectl argo rollouts get` lists it, newest revision first:
    `#2 canary 1/2 Progressing checkout:2.0.0` (revision, role, ready/desired, status unless Healthy, images)."""
    out: list[Content] = []
    tag_width = max((len(",".join(rs.tags)) for rs in rollout.replica_sets), default=0) + 1
    for rs in rollout.replica_sets:
        tags = ",".join(rs.tags)
        parts: list[tuple[str, str] | str] = [(f"#{rs.revision:<3}", "$text-muted")]
        parts.append((f"{tags:<{tag_width}}", TAG_STYLE.get(rs.tags[-1], "") if rs.tags else "$text-muted"))
        ready = f"{rs.ready}/{rs.desired} "
        status = f"{clean(rs.status)} " if rs.status and rs.status != "Healthy" else ""
        parts += [ready, (status, "$warning" if rs.status != "ScaledDown" else "$text-muted")]
        used = 4 + tag_width + len(ready) + len(status)
        room = max(8, width + 7 - used)
        parts.append(clean(image_tail(", ".join(rs.images), room)) if rs.images else "–")
        out.append(Content.assemble(*parts))
    return out


class RolloutDetail(VerticalScroll):
    """Everything about one rollout; `show(rollout, series, now, identity)` updates it in place.

    `identity` is this room's engine identity: the why pane says "driven by this
    room" for it, so the frame never shows a process id of its own.
    """

    DEFAULT_CSS = """
    RolloutDetail { height: 1fr; padding: 0 1; }
    RolloutDetail > .detail-title { height: auto; margin-bottom: 1; }
    RolloutDetail > TrafficSplit { margin-bottom: 1; }
    RolloutDetail > .detail-facts { height: auto; margin-bottom: 1; }
    RolloutDetail > .-empty { display: none; }
    RolloutDetail.-compact > .detail-title, RolloutDetail.-compact > TrafficSplit { margin-bottom: 0; }
    RolloutDetail.-compact > .detail-facts { display: none; }
    """

    COMPACT_HEIGHT = 20  # rows: below this the pane packs the why section tighter

    can_focus = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rollout: Rollout | None = None
        self.series: tuple[MetricSeries, ...] = ()
        self.now: float | None = None
        self.identity: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(title_content(None), classes="detail-title")
        yield TrafficSplit()
        yield Static("", classes="detail-facts")
        yield WhyPane(id="why")
        yield ObjectEvents(id="object-events")

    def on_resize(self, event: Resize) -> None:
        compact = event.size.height < self.COMPACT_HEIGHT
        self.set_class(compact, "-compact")
        self.query_one(WhyPane).set_compact(compact)

    def show(
        self,
        rollout: Rollout | None,
        series: Sequence[MetricSeries] = (),
        now: float | None = None,
        identity: str | None = None,
    ) -> None:
        """`now` (the state's clock time) turns deadlines into `in 12s`."""
        series = tuple(series)
        if (rollout, series, now, identity) == (self.rollout, self.series, self.now, self.identity):
            return
        self.rollout, self.series, self.now, self.identity = rollout, series, now, identity
        set_content(self.query_one(".detail-title", Static), title_content(rollout))
        self.query_one(TrafficSplit).show(rollout)
        facts = self.query_one(".detail-facts", Static)
        set_content(facts, facts_content(rollout) if rollout else "")
        facts.set_class(rollout is None, "-empty")
        self.query_one(WhyPane).show(rollout, series, now, identity)
        self.query_one(ObjectEvents).show(rollout, now)

    @property
    def why(self) -> WhyPane:
        return self.query_one(WhyPane)

    @property
    def events(self) -> ObjectEvents:
        return self.query_one(ObjectEvents)

    @property
    def metric_labels(self) -> list[str]:
        return [view.label_text for view in self.query(CheckView)]
