"""Widget text: traffic bars, sparkline labels, images, the filter, the clock."""

from __future__ import annotations

import pytest

from app.model import MetricSeries, Rollout, Strategy, Weights
from themes import check, names
from widgets.formatting import (
    duration,
    hhmmss,
    image_cell,
    image_tail,
    number,
    sparkline_data,
    split_cells,
    target_label,
    traffic_bar,
)
from widgets.metric_spark import metric_label
from widgets.palette import Palette
from widgets.rollouts_table import traffic_text
from widgets.row_filter import RowFilter
from widgets.traffic import bar, traffic_content


@pytest.mark.parametrize(
    ("canary", "expected"),
    [
        (40, "▇▇▇▇▇▇▁▁▁▁ 60/40"),
        (0, "▇▇▇▇▇▇▇▇▇▇ 100/0"),
        (100, "▁▁▁▁▁▁▁▁▁▁ 0/100"),
        (1, "▇▇▇▇▇▇▇▇▇▁ 99/1"),  # 1% still gets a cell
        (99, "▇▁▁▁▁▁▁▁▁▁ 1/99"),
        (25, "▇▇▇▇▇▇▇▇▁▁ 75/25"),  # round half to even: 2.5 -> 2
    ],
)
def test_traffic_bar(canary: int, expected: str) -> None:
    assert traffic_bar(Weights.of_canary(canary)) == expected


def test_split_cells_always_fills_the_width() -> None:
    for canary in range(101):
        for width in (1, 2, 10, 37):
            stable, canary_cells = split_cells(Weights.of_canary(canary), width)
            assert stable + canary_cells == width


def test_table_traffic_cell_marks_a_split_still_moving() -> None:
    p = Palette()
    still = Rollout(name="a", desired=Weights.of_canary(30), actual=Weights.of_canary(30))
    moving = Rollout(name="a", desired=Weights.of_canary(40), actual=Weights.of_canary(30))
    assert traffic_text(still, p).plain == "▇▇▇▇▇▇▇▁▁▁ 70/30"
    assert traffic_text(moving, p).plain == "▇▇▇▇▇▇▇▁▁▁ 70/30»"


def test_blue_green_cell_names_the_live_colour() -> None:
    p = Palette()
    live = Rollout(name="web", strategy=Strategy.BLUE_GREEN, active_color="green")
    switching = live.model_copy(update={"desired": Weights.of_canary(100)})
    assert traffic_text(live, p).plain == "● green live"
    assert traffic_text(switching, p).plain == "● green → blue"


def test_large_traffic_split_draws_the_actual_split_and_the_why_pane_the_difference() -> None:
    from widgets.why import router_content

    rollout = Rollout(name="a", desired=Weights.of_canary(40), actual=Weights.of_canary(30))
    text = traffic_content(rollout, 60).plain.splitlines()
    assert len(text) == 2
    assert text[0].startswith("stable  ") and text[0].endswith(" 70%")
    assert text[1].startswith("canary  ") and text[1].endswith(" 30%")
    assert router_content(rollout).plain == "router desired 60/40 ≠ actual 70/30"
    settled = rollout.model_copy(update={"desired": rollout.actual})
    assert router_content(settled).plain == "router desired 70/30 = actual 70/30"


def test_large_traffic_split_for_blue_green_says_which_colour_is_live() -> None:
    rollout = Rollout(name="web", strategy=Strategy.BLUE_GREEN, active_color="blue")
    first, second = traffic_content(rollout, 60).plain.splitlines()
    assert first.startswith("blue ") and first.endswith("100% LIVE")
    assert second.startswith("green ") and second.endswith("0% idle")


def test_large_bar_cells() -> None:
    assert bar(30, 10) == ("███", "░░░░░░░")
    assert bar(1, 10)[0] == "█" and bar(99, 10)[1] == "░"


def _series(values: tuple[float | None, ...], **kw: object) -> MetricSeries:
    return MetricSeries(target="shop/a", name="request-success-rate", unit="%", values=values, **kw)  # type: ignore[arg-type]


def test_sparkline_label_in_range() -> None:
    assert metric_label(_series((99.0, 99.5), min=99.0)).plain == "request-success-rate 99.5% (≥ 99) ok"


def test_sparkline_label_out_of_range_is_a_breach_in_red() -> None:
    label = metric_label(_series((99.0, 97.25), min=99.0))
    assert label.plain == "request-success-rate 97.2% (≥ 99) BREACH"
    value_span = next(s for s in label.spans if label.plain[s.start : s.end] == "97.2%")
    assert "$error" in str(value_span.style)


def test_sparkline_label_without_data() -> None:
    label = MetricSeries(target="t", name="request-duration-p99", unit="ms", max=500.0, values=(410.0, None))
    assert metric_label(label).plain == "request-duration-p99 no data (≤ 500) NO DATA"


def test_sparkline_data_keeps_the_width_and_fills_gaps() -> None:
    series = _series(tuple(float(i) for i in range(60)) + (None,))
    data = sparkline_data(series, 40)
    assert len(data) == 40 and data[-1] == min(data)


def test_numbers_and_clock() -> None:
    assert number(412.4, "ms") == "412 ms"
    assert number(0.432, "%") == "0.43%"
    assert number(None) == "no data"
    assert hhmmss(1767225600.0 + 3 * 3600 + 4 * 60 + 5.9) == "03:04:05"


def test_image_cells_keep_the_tag() -> None:
    stable, canary = "registry.example.com/shop/checkout:1.4.2", "registry.example.com/shop/checkout:1.5.0"
    assert image_cell(canary, stable, 10) == "1.5.0"
    assert image_cell("ghcr.io/a/otherimage:2.0", stable, 10) == "…image:2.0"
    assert image_cell("", stable, 10) == "–"
    assert image_tail(stable, 38) == "shop/checkout:1.4.2"
    assert image_tail(stable, 60) == stable


@pytest.mark.parametrize(
    ("text", "row", "expected"),
    [
        ("", "anything", True),
        ("check", "shop/checkout", True),
        ("CHECK", "shop/checkout", True),
        ("^web/", "web/search", True),
        ("^web/", "shop/web", False),
        ("!web", "web/search", False),
        ("!web", "shop/checkout", True),
        ("[", "a [bracket", True),  # an invalid regex is taken literally
    ],
)
def test_row_filter(text: str, row: str, expected: bool) -> None:
    assert RowFilter(text).matches(row) is expected


def test_theme_names_for_the_cli() -> None:
    assert names() == ["dark", "light", "wall"]
    assert check("wall") == "wall"
    with pytest.raises(ValueError, match="unknown theme 'neon'"):
        check("neon")


def test_target_label_cuts_the_namespace_first() -> None:
    assert target_label("shop/checkout", 19) == "shop/checkout"
    assert target_label("microservices/frontend", 19) == "microserv…/frontend"
    assert target_label("microservices/frontend", 19, namespace=False) == "frontend"
    assert target_label("ns/a-very-long-service-name", 10) == "a-very-lo…"


def test_durations() -> None:
    assert [duration(s) for s in (0, 45.4, 250, 7500)] == ["0s", "45s", "4m 10s", "2h 05m"]
