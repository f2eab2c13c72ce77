"""One experiment in full: variants against control, warnings, progress and the uplift plot.

Numbers come from `app.stats`: sequential (always-valid) 95% intervals by
default, fixed-horizon when asked (labelled, since those are only valid
for one look at the planned sample size). Warnings are plain words in the
warning colour, never green.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.widgets import Static

from app.sanitize import clean
from widgets.formatting import duration
from widgets.rebuild_progress import RebuildProgress

if TYPE_CHECKING:
    from app.model import Experiment, VariantStats
    from app.stats import Comparison

# `app.stats` (and `statistics` under it) and the plots are imported when an experiment is first
# shown: the experiments tab is not the first frame's, and the room's start-up waits for every import.

WIDE_TABLE = 112  # below this many columns the absolute uplift loses its interval
MAX_PLOTS = 3


def control_of(experiment: Experiment) -> VariantStats | None:
    first = experiment.variants[0] if experiment.variants else None
    return next((v for v in experiment.variants if v.name == "control"), first)


def p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _pp(x: float) -> str:
    return f"{x * 100:+.2f}".replace("-", "−")


def _rel(x: float) -> str:
    return f"{x * 100:+.1f}%".replace("-", "−")


def comparison_cells(c: Comparison | None) -> tuple[str, str, str, str]:
    """(absolute, relative, p, chance to win) as text."""
    if c is None:
        return ("control", "", "", "")
    if c.absolute is None:
        return ("–", "–", "–", "–")
    a = c.absolute
    absolute = f"{_pp(a.estimate)}pp [{_pp(a.ci[0])}, {_pp(a.ci[1])}]"
    r = c.relative
    relative = "–" if r is None else f"{_rel(r.estimate)} [{_rel(r.ci[0])}, {_rel(r.ci[1])}]"
    ctw = c.chance_to_win
    win = "–" if ctw is None else ">99%" if ctw >= 0.995 else "<1%" if ctw <= 0.005 else f"{ctw:.0%}"
    return absolute, relative, p_text(a.p_value), win


def table_content(experiment: Experiment, *, sequential: bool, width: int) -> Content:
    """The variants against control; below `WIDE_TABLE` columns the weight and absolute uplift go."""
    from app.stats import compare

    wide = width >= WIDE_TABLE
    cols = [
        ("variant", 14 if wide else 12, "<"),
        ("weight", 6, ">"),
        ("users", 8, ">"),
        ("conv", 7 if wide else 6, ">"),
        ("rate", 7, ">"),
        ("abs uplift [95%]", 26, ">"),
        ("rel uplift [95%]", 23, ">"),
        ("p", 6, ">"),
        ("win", 5, ">"),
    ]
    keep = [i for i, (name, _, _) in enumerate(cols) if wide or name not in ("weight", "abs uplift [95%]")]

    def line(cells: Sequence[str], style: str = "") -> Content:
        parts = [f"{cells[i][: cols[i][1]]:{cols[i][2]}{cols[i][1]}}" for i in keep]
        return Content.styled(" ".join(parts), style)

    rows = [line([c[0] for c in cols], "bold $text-muted")]
    control = control_of(experiment)
    for v in experiment.variants:
        c = (
            None
            if v is control or control is None
            else compare((control.users, control.converters), (v.users, v.converters), sequential=sequential)
        )
        rate = "–" if v.rate is None else f"{v.rate * 100:.2f}%"
        absolute, relative, p, win = comparison_cells(c)
        cells = [clean(v.name), f"{v.weight:g}%", f"{v.users:,}", f"{v.converters:,}", rate, absolute, relative, p, win]
        style = "bold" if c is not None and c.significant else ("$text-muted" if c is None else "")
        rows.append(line(cells, style))
    return Content("\n").join(rows)


def _bar(fraction: float | None, width: int = 12) -> str:
    if fraction is None:
        return ""
    full = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * full + "░" * (width - full)


def notes_content(experiment: Experiment, *, sequential: bool) -> Content:
    """Warnings (SRM, not enough data), significance and progress, one line each."""
    from app.stats import SRM_WARN_P, compare, progress, srm_p_value

    lines: list[Content] = []
    variants = experiment.variants
    srm = srm_p_value([v.users for v in variants], [v.weight for v in variants]) if variants else 1.0
    if srm < SRM_WARN_P:
        split = "/".join(f"{v.users:,}" for v in variants)
        weights = "/".join(f"{v.weight:g}" for v in variants)
        lines.append(
            Content.styled(
                f"⚠ Sample ratio mismatch: users split {split} against a configured {weights} (χ² p {p_text(srm)}); "
                "assignment is broken, so these results cannot be trusted.",
                "bold $warning",
            )
        )
    prog = progress(experiment, experiment.elapsed_days, sequential=sequential)
    mss = experiment.min_sample_size
    if mss and prog.min_variant_users < mss:
        lines.append(
            Content.styled(
                f"⚠ Not enough data: the smallest variant has {prog.min_variant_users:,} of the {mss:,} users "
                "min_sample_size asks for; do not call this experiment yet.",
                "$warning",
            )
        )
    control = control_of(experiment)
    for v in variants:
        if control is None or v is control:
            continue
        c = compare((control.users, control.converters), (v.users, v.converters), sequential=sequential)
        if c.note:
            lines.append(Content.styled(c.note, "$text-muted"))
        elif c.significant and c.absolute is not None:
            direction = "above" if c.absolute.estimate > 0 else "below"
            lines.append(
                Content.assemble(
                    (f"{clean(v.name)} ", "bold"), f"converts {direction} control (p {p_text(c.absolute.p_value)})."
                )
            )
    sample = (
        ""
        if prog.sample_fraction is None
        else (f"sample {_bar(prog.sample_fraction)} {prog.sample_fraction:.0%} of {mss:,} per variant   ")
    )
    elapsed = f"{prog.elapsed_days:.1f}" if prog.elapsed_days >= 1 else duration(prog.elapsed_days * 86400)
    timeline = (
        ""
        if prog.time_fraction is None
        else (f"time {_bar(prog.time_fraction)} {elapsed} of {prog.duration_days:g} days   ")
    )
    if prog.days_to_significance == 0:
        eta = "significant now"
    elif prog.days_to_significance is None:
        eta = "days to significance: cannot tell yet"
    else:
        pace = f" at {prog.daily_users:,.0f} users/day" if prog.daily_users else ""
        days = prog.days_to_significance
        when = f"{days:.1f} days" if days >= 1 else duration(days * 86400)
        eta = f"significance in ~{when}{pace}"
    lines.append(Content.assemble((sample, ""), (timeline, ""), (eta, "$text-muted")))
    if experiment.status != "active":
        note = f"status {clean(experiment.status)}: the seed assigns no new users."
        lines.append(Content.styled(note, "$text-muted"))
    return Content("\n").join(lines)


def summary_content(experiment: Experiment, *, sequential: bool) -> Content:
    mode = (
        "sequential 95% intervals (always valid)"
        if sequential
        else "fixed-horizon 95% intervals (one look at the planned sample only)"
    )
    head: list[Any] = [(clean(experiment.id), "bold")]
    if experiment.name:
        head += ["  ", (clean(experiment.name), "")]
    head += ["  ", (clean(experiment.status), "$text-muted")]
    if experiment.error:
        return Content.assemble(*head, "  ", ("invalid: ", "bold $error"), (clean(experiment.error), "$error"))
    if experiment.primary_metric:
        head += ["  ", ("metric ", "$text-muted"), clean(experiment.primary_metric)]
    head += ["  ", (mode, "$accent")]
    return Content.assemble(*head)


class ExperimentDetail(VerticalScroll):
    """The selected experiment: `show(experiment, sequential=...)`."""

    DEFAULT_CSS = """
    ExperimentDetail { height: auto; max-height: 70%; padding: 0 1; border-top: solid $panel-lighten-2;
                       scrollbar-size-vertical: 1; }
    ExperimentDetail > Static { height: auto; }
    ExperimentDetail > #experiment-table { margin-top: 1; }
    ExperimentDetail > #experiment-notes { margin-top: 1; }
    ExperimentDetail > #experiment-plots { height: auto; margin-top: 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.experiment: Experiment | None = None
        self.sequential = True

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("no experiment selected", "$text-muted"), id="experiment-summary")
        yield RebuildProgress(id="experiment-rebuild")
        yield Static("", id="experiment-table")
        yield Static("", id="experiment-notes")
        yield Horizontal(id="experiment-plots")

    def on_resize(self, event: Resize) -> None:
        self.show(self.experiment, sequential=self.sequential)

    def show(self, experiment: Experiment | None, *, sequential: bool = True) -> None:
        self.experiment, self.sequential = experiment, sequential
        if not self.is_mounted:
            return
        summary = self.query_one("#experiment-summary", Static)
        table = self.query_one("#experiment-table", Static)
        notes = self.query_one("#experiment-notes", Static)
        plots = self.query_one("#experiment-plots", Horizontal)
        if experiment is None:
            summary.update(Content.styled("no experiment selected", "$text-muted"))
            table.update("")
            notes.update("")
            plots.remove_children()
            return
        summary.update(summary_content(experiment, sequential=sequential))
        bad = bool(experiment.error) or not experiment.variants
        table.display = notes.display = plots.display = not bad
        if bad:
            return
        table.update(table_content(experiment, sequential=sequential, width=self.content_size.width or 160))
        notes.update(notes_content(experiment, sequential=sequential))
        self._show_plots(experiment, sequential)

    def show_rebuild(
        self,
        *,
        running: bool = False,
        done: int = 0,
        total: int = 0,
        error: str = "",
        note: str = "",
        warn: bool = False,
    ) -> None:
        """The counter rebuild of the shown experiment: progress, its error or a note (nothing: hidden)."""
        for line in self.query(RebuildProgress):
            line.show(running=running, done=done, total=total, error=error, note=note, warn=warn)

    def _show_plots(self, experiment: Experiment, sequential: bool) -> None:
        from widgets.uplift_plot import UpliftPlot, uplift_series

        plots = self.query_one("#experiment-plots", Horizontal)
        control = control_of(experiment)
        others = [v.name for v in experiment.variants if control is not None and v is not control][:MAX_PLOTS]
        widgets = list(plots.query(UpliftPlot))
        if [w.name for w in widgets] != others:
            plots.remove_children()
            widgets = [UpliftPlot(name=name) for name in others]
            plots.mount_all(widgets)
        kind = "sequential" if sequential else "fixed-horizon"
        for widget, name in zip(widgets, others, strict=True):
            points = uplift_series(
                experiment.history, control.name if control else "control", name, sequential=sequential
            )
            versus = clean(control.name) if control else "control"
            widget.show(points, f"{clean(name)} vs {versus}: cumulative relative uplift, {kind} 95%")
