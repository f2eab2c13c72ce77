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
from textual.widgets import Input, Label, RadioButton, RadioSet, Static, TextArea

SOURCES = ("experiments", "paste", "file")
BARS = " ▁▂▃▄▅▆▇█"
HIST_ROWS = 3


def _pct(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.0
    return max(0.0, min(100.0, float(value)))


def histogram_content(hist: list[int], before: Any, after: Any, *, rows: int = HIST_ROWS) -> Content:
    """100 columns, one per bucket; buckets a percentage serves (b < P) in colour.

    Colours: served before and after `$accent`, newly served `$success`,
    no longer served `$error`, never served `$text-muted`. The bars are
    scaled between a little under the smallest bucket and the largest, so
    the (small) unevenness of the hash shows.
    """
    if len(hist) != 100 or not sum(hist):
        return Content.styled("no histogram", "$text-muted")
    b, a = math.ceil(_pct(before)), math.ceil(_pct(after))
    lo, hi = min(hist), max(hist)
    floor = lo - max(1, (hi - lo)) * 2  # the smallest bucket a third as tall as the largest
    levels = rows * 8
    heights = [max(1, round((h - floor) / (hi - floor) * levels)) if hi > floor else levels for h in hist]
    styles = []
    for i in range(100):
        was, now = i < b, i < a
        styles.append("$accent" if was and now else "$success" if now else "$error" if was else "$text-muted")
    lines = []
    for row in range(rows - 1, -1, -1):
        parts = []
        for i, h in enumerate(heights):
            fill = max(0, min(8, h - row * 8))
            parts.append((BARS[fill], styles[i]))
        lines.append(Content.assemble(*parts))
    axis = [" "] * 100
    for pos, text in ((0, "0"), (49, "50"), (97, "99")):
        axis[pos : pos + len(text)] = list(text)
    lines.append(Content.styled("".join(axis), "$text-muted"))
    total = sum(hist)
    served_b, served_a = sum(hist[:b]) / total, sum(hist[:a]) / total
    summary = Content.assemble(
        (f"{total:,} ids user-0..user-{total - 1}", "$text-muted"),
        f"  per bucket {lo:,}–{hi:,}  ",
        ("percentage ", "$text-muted"),
        f"{_pct(before):g} → {_pct(after):g}",
        ("  serves ", "$text-muted"),
        f"{served_b:.2%} → {served_a:.2%}",
    )
    lines.append(summary)
    return Content("\n").join(lines)


def result_content(gain: int, lose: int, total: int, environment: str, source: str) -> Content:
    return Content.assemble(
        ("in ", "$text-muted"), (environment or "(no environment)", "bold"), (": ", "$text-muted"),
        (f"+{gain:,} gain", "bold $success" if gain else "$text-muted"), "  ",
        (f"−{lose:,} lose", "bold $error" if lose else "$text-muted"),
        (f"  of {total:,} ids ({source})", "$text-muted"),
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
        def __init__(self, preview: "CohortPreview") -> None:
            super().__init__()
            self.preview = preview

    def __init__(self, environment: str, sample_label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initial_environment = environment
        self.sample_label = sample_label

    def compose(self) -> ComposeResult:
        with Horizontal(classes="cohort-row"):
            yield Label("environment")
            yield Input(self.initial_environment, id="cohort-environment", compact=True)
            with RadioSet(id="cohort-source", compact=True):
                yield RadioButton(self.sample_label, value=True, id="source-experiments")
                yield RadioButton("pasted ids", id="source-paste")
                yield RadioButton("file", id="source-file")
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
        self.query_one("#cohort-result", Static).update(Content.styled(sentence, "$warning"))

    def show_histogram(self, hist: list[int] | None, before: Any, after: Any) -> None:
        widget = self.query_one("#cohort-histogram", Static)
        if hist is None:
            widget.update(Content.styled("bucket histogram: computing…", "$text-muted"))
        else:
            widget.update(histogram_content(hist, before, after))
