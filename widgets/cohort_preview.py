"""Who a flag change affects: gain/lose counts on a sample of user ids, and the bucket histogram.

The owner computes (in workers) and calls `show_result` / `show_histogram`;
this widget only collects where the ids come from and draws the numbers.
"""

from __future__ import annotations

import math
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, RadioSet, Static, TextArea

from app.sanitize import clean
from widgets.glyph_radio import GlyphRadioButton

SOURCES = ("experiments", "paste", "file")
BARS = " ▁▂▃▄▅▆▇█"
HIST_ROWS = 3


def _pct(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.0
    return max(0.0, min(100.0, float(value)))


def histogram_columns(width: int) -> int:
    """How many columns the histogram gets in `width` cells: 100 (one per bucket), else 50, 25 or 20."""
    return next((c for c in (100, 50, 25, 20) if c <= width), 20)


def histogram_content(
    hist: list[int], before: Any, after: Any, *, rows: int = HIST_ROWS, columns: int = 100
) -> Content:
    """`columns` columns (100: one per bucket; 50: two buckets each...); buckets a percentage serves in colour.

    Colours: served before and after `$accent`, newly served `$success`,
    no longer served `$error`, never served `$text-muted`. The bars are
    scaled between a little under the smallest bucket and the largest, so
    the (small) unevenness of the hash shows. No line is wider than
    `columns` (the summary goes on two lines below 100), so nothing wraps.
    """
    if len(hist) != 100 or not sum(hist):
        return Content.styled("no histogram", "$text-muted")
    columns = columns if columns in (100, 50, 25, 20) else 100
    per = 100 // columns
    groups = [sum(hist[i : i + per]) / per for i in range(0, 100, per)]
    b, a = math.ceil(_pct(before)), math.ceil(_pct(after))
    lo, hi = min(groups), max(groups)
    floor = lo - max(1, (hi - lo)) * 2  # the smallest bucket a third as tall as the largest
    levels = rows * 8
    heights = [max(1, round((h - floor) / (hi - floor) * levels)) if hi > floor else levels for h in groups]
    styles = []
    for i in range(columns):
        centre = i * per + (per - 1) / 2  # a column counts as served when its middle bucket is
        was, now = centre < b, centre < a
        styles.append("$accent" if was and now else "$success" if now else "$error" if was else "$text-muted")
    lines = []
    for row in range(rows - 1, -1, -1):
        parts = []
        for i, h in enumerate(heights):
            fill = max(0, min(8, h - row * 8))
            parts.append((BARS[fill], styles[i]))
        lines.append(Content.assemble(*parts))
    axis = [" "] * columns
    for pos, text in ((0, "0"), (columns // 2 - 1 + (per == 1), "50"), (columns - 2, "99")):
        axis[pos : pos + len(text)] = list(text)
    lines.append(Content.styled("".join(axis), "$text-muted"))
    total = sum(hist)
    served_b, served_a = sum(hist[:b]) / total, sum(hist[:a]) / total
    ids = (f"{total:,} ids user-0..user-{total - 1}", "$text-muted")
    spread = f"  per bucket {min(hist):,}–{max(hist):,}"
    serves: list[str | tuple[str, str]] = [
        ("percentage ", "$text-muted"),
        f"{_pct(before):g} → {_pct(after):g}",
        ("  serves ", "$text-muted"),
        f"{served_b:.2%} → {served_a:.2%}",
    ]
    if columns >= 100:
        lines.append(Content.assemble(ids, spread, "  ", *serves))
    else:
        lines += [Content.assemble(ids, spread), Content.assemble(*serves)]
    return Content("\n").join(lines)


def result_content(gain: int, lose: int, total: int, environment: str, source: str) -> Content:
    return Content.assemble(
        ("in ", "$text-muted"),
        (clean(environment) or "(no environment)", "bold"),
        (": ", "$text-muted"),
        (f"+{gain:,} gain", "bold $success" if gain else "$text-muted"),
        "  ",
        (f"−{lose:,} lose", "bold $error" if lose else "$text-muted"),
        (f"  of {total:,} ids ({clean(source)})", "$text-muted"),
    )


class CohortPreview(Vertical):
    """Environment, id source (experiment users, pasted, a file), result line and histogram."""

    DEFAULT_CSS = """
    CohortPreview { height: auto; }
    CohortPreview > .cohort-row { height: 1; }
    CohortPreview > .cohort-row > Label { width: 15; color: $text-muted; }
    CohortPreview > .cohort-row > Input { width: 30; }
    CohortPreview RadioSet { layout: horizontal; border: none; padding: 0; height: 1; width: auto;
                             background: transparent; margin-left: 2; }
    CohortPreview RadioSet > RadioButton { padding: 0 2 0 0; width: auto; }
    CohortPreview #cohort-paste { height: 3; display: none; margin-left: 15; }
    CohortPreview #cohort-path { display: none; margin-left: 15; width: 60; }
    CohortPreview.-paste #cohort-paste { display: block; }
    CohortPreview.-file #cohort-path { display: block; }
    CohortPreview #cohort-result { height: auto; margin-left: 15; }
    CohortPreview #cohort-histogram { height: auto; margin-left: 15; margin-top: 1; }
    """

    class Changed(Message):
        def __init__(self, preview: CohortPreview) -> None:
            super().__init__()
            self.preview = preview

    def __init__(self, environment: str, sample_label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initial_environment = environment
        self.sample_label = sample_label
        self._histogram: tuple[list[int] | None, Any, Any] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="cohort-row"):
            yield Label("environment")
            yield Input(self.initial_environment, id="cohort-environment", compact=True)
            with RadioSet(id="cohort-source", compact=True):
                yield GlyphRadioButton(clean(self.sample_label), value=True, id="source-experiments")
                yield GlyphRadioButton("pasted ids", id="source-paste")
                yield GlyphRadioButton("file", id="source-file")
        yield TextArea("", id="cohort-paste", compact=True, soft_wrap=True)
        yield Input("", placeholder="path to a file of user ids, one per line", id="cohort-path", compact=True)
        yield Static(Content.styled("computing…", "$text-muted"), id="cohort-result")
        yield Static(Content.styled("bucket histogram: computing…", "$text-muted"), id="cohort-histogram")

    # ------------------------------------------------------------ inputs

    @property
    def environment(self) -> str:
        return self.query_one("#cohort-environment", Input).value.strip()

    @property
    def source(self) -> str:
        pressed = self.query_one("#cohort-source", RadioSet).pressed_button
        return (pressed.id or "source-experiments").removeprefix("source-") if pressed else "experiments"

    @property
    def pasted(self) -> str:
        return self.query_one("#cohort-paste", TextArea).text

    @property
    def path(self) -> str:
        return self.query_one("#cohort-path", Input).value.strip()

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(RadioSet.Changed)
    def _changed(self, event: Message) -> None:
        event.stop()
        source = self.source
        self.set_class(source == "paste", "-paste")
        self.set_class(source == "file", "-file")
        self.post_message(self.Changed(self))

    # ------------------------------------------------------------ output

    def show_result(self, gain: int, lose: int, total: int, label: str) -> None:
        self.query_one("#cohort-result", Static).update(result_content(gain, lose, total, self.environment, label))

    def show_problem(self, sentence: str) -> None:
        self.query_one("#cohort-result", Static).update(Content.styled(clean(sentence), "$warning"))

    def show_histogram(self, hist: list[int] | None, before: Any, after: Any) -> None:
        self._histogram = (hist, before, after)
        widget = self.query_one("#cohort-histogram", Static)
        if hist is None:
            widget.update(Content.styled("bucket histogram: computing…", "$text-muted"))
        else:
            width = widget.content_size.width or (self.size.width - 15) or 100
            widget.update(histogram_content(hist, before, after, columns=histogram_columns(width)))

    def on_resize(self) -> None:
        if self._histogram is not None and self.is_mounted:
            self.show_histogram(*self._histogram)
