"""The Experiments tab: per-variant statistics, warnings, progress, the uplift plot, status key."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from app.clock import VirtualClock
from app.factory import RoomOptions, make_app
from app.model import Experiment, ExperimentPoint, VariantStats
from app.room import ShiftroomApp
from app.screens.confirm import ConfirmScreen
from app.stats import compare
from widgets.experiment_detail import ExperimentDetail, notes_content, p_text, summary_content, table_content
from widgets.experiments_list import ExperimentsList
from widgets.uplift_plot import UpliftPlot, plot_lines, uplift_series

WIDE = (160, 45)


def room(seed: int = 5) -> tuple[ShiftroomApp, VirtualClock]:
    clock = VirtualClock()
    app = make_app(RoomOptions(scenario="healthy-canary", seed=seed, virtual=True, actor="oncall@room"), clock=clock)
    app.animation_level = "none"
    return app, clock


def text(widget: Static) -> str:
    content = widget.content
    return getattr(content, "plain", str(content))


async def skew_split(app: ShiftroomApp, exp_id: str, split: dict[str, int]) -> None:
    """Change the configured split mid-experiment: the counts no longer match it (SRM)."""
    store = app.engine.store
    raw, version = await store.get_experiment_raw(exp_id)
    await store.put_experiment_raw(exp_id, {**raw, "traffic_split": split}, version)


def selected(app: ShiftroomApp) -> Experiment:
    exp_id = app.query_one(ExperimentsList).selected_experiment
    return next(e for e in app.engine.state.experiments if e.id == exp_id)


async def test_table_shows_the_stats_of_app_stats_and_toggles_fixed_horizon() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        await clock.run_for(300, step=5)
        await pilot.press("3")
        await pilot.pause()
        detail = app.query_one(ExperimentDetail)
        exp = selected(app)
        assert exp.id == "checkout-flow-redesign" and len(exp.history) > 5
        control, variant = exp.variants
        seq = compare((control.users, control.converters), (variant.users, variant.converters), sequential=True)
        fixed = compare((control.users, control.converters), (variant.users, variant.converters), sequential=False)
        table = text(detail.query_one("#experiment-table", Static))
        row = next(line for line in table.splitlines() if line.startswith("variant_a"))
        assert p_text(seq.absolute.p_value) in row and f"{variant.users:,}" in row
        assert f"{seq.relative.estimate * 100:+.1f}%".replace("-", "−") in row
        assert "sequential 95%" in text(detail.query_one("#experiment-summary", Static))
        await pilot.press("f")
        assert "fixed-horizon 95%" in text(detail.query_one("#experiment-summary", Static))
        row = next(
            line
            for line in text(detail.query_one("#experiment-table", Static)).splitlines()
            if line.startswith("variant_a")
        )
        assert p_text(fixed.absolute.p_value) in row
        assert fixed.absolute.ci[1] - fixed.absolute.ci[0] < seq.absolute.ci[1] - seq.absolute.ci[0]
        # one plot per non-control variant, from the engine's history
        plots = list(detail.query(UpliftPlot))
        assert [p.name for p in plots] == ["variant_a"] and "fixed-horizon" in plots[0]._title
        await pilot.press("f")
        assert "sequential 95%" in text(detail.query_one("#experiment-summary", Static))


async def test_warnings_for_little_data_and_sample_ratio_mismatch() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        await clock.run_for(30, step=5)
        await pilot.press("3")
        await pilot.pause()
        notes = app.query_one("#experiment-notes", Static)
        assert "Not enough data" in text(notes) and "Sample ratio mismatch" not in text(notes)
        await skew_split(app, "checkout-flow-redesign", {"control": 80, "variant_a": 20})
        await clock.run_for(120, step=5)
        await pilot.pause()
        assert "Sample ratio mismatch" in text(notes)
        warning = notes.content
        assert all("success" not in str(span.style) for span in warning.spans)  # never green
        assert any("warning" in str(span.style) for span in warning.spans)


async def test_invalid_experiment_shows_its_sentence() -> None:
    app, clock = room()
    store = app.engine.store
    real = store.list_experiments

    async def with_broken() -> list[Experiment]:
        broken = Experiment(id="broken", error="Experiment broken: traffic_split adds up to 90, not 100.")
        return [*await real(), broken]

    store.list_experiments = with_broken  # type: ignore[method-assign]
    async with app.run_test(size=WIDE) as pilot:
        await clock.run_for(10, step=5)
        await pilot.press("3")
        table = app.query_one(ExperimentsList)
        assert table.select_key("broken")
        await pilot.pause()
        summary = text(app.query_one("#experiment-summary", Static))
        assert "invalid: Experiment broken: traffic_split adds up to 90, not 100." in summary
        assert not app.query_one("#experiment-table", Static).display


async def test_status_key_pauses_the_experiment_after_confirmation() -> None:
    app, clock = room()
    async with app.run_test(size=WIDE) as pilot:
        await clock.run_for(10, step=5)
        await pilot.press("3", "x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert list(app.screen.preview.lines) == ["status active → paused: the seed stops assigning new users"]
        await pilot.click("#confirm")
        await pilot.pause()
        raw, _ = await app.engine.store.get_experiment_raw("checkout-flow-redesign")
        assert raw["status"] == "paused"


def test_pure_rendering() -> None:
    v = (
        VariantStats(name="control", weight=50, users=4000, converters=400),
        VariantStats(name="variant_a", weight=50, users=4000, converters=480),
    )
    history = tuple(
        ExperimentPoint(
            t=float(i * 60),
            variants=tuple(
                s.model_copy(update={"users": s.users * (i + 1) // 10, "converters": s.converters * (i + 1) // 10})
                for s in v
            ),
        )
        for i in range(10)
    )
    exp = Experiment(
        id="e",
        name="E",
        status="active",
        variants=v,
        min_sample_size=10_000,
        duration_days=14,
        elapsed_days=2.0,
        history=history,
    )
    assert "Not enough data" in notes_content(exp, sequential=True).plain
    notes = notes_content(exp, sequential=True).plain
    assert "significance in ~" in notes or "significant now" in notes
    narrow = table_content(exp, sequential=True, width=80).plain
    assert max(len(line) for line in narrow.splitlines()) <= 80
    points = uplift_series(history, "control", "variant_a")
    assert len(points) == 10 and abs(points[-1].estimate - 0.2) < 1e-9
    lines = plot_lines(points, 78)
    assert all(len(line.plain) <= 78 for line in lines) and len(lines) == 9
    invalid = Experiment(id="x", error="Experiment x is not a JSON object.")
    assert "invalid" in summary_content(invalid, sequential=True).plain


# ---------------------------------------------------------------- snapshots


def test_snapshot_experiments_pane_little_data(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room()

    async def run_before(pilot: Any) -> None:
        await clock.run_for(40, step=5)
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_snapshot_experiments_pane_srm(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room()

    async def run_before(pilot: Any) -> None:
        await clock.run_for(60, step=5)
        await skew_split(app, "product-page-layout", {"control": 60, "variant_a": 20, "variant_b": 20})
        await clock.run_for(240, step=5)
        await pilot.press("3")
        assert app.query_one(ExperimentsList).select_key("product-page-layout/control")
        await pilot.pause()

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_snapshot_experiments_pane_narrow_fixed_horizon(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = room()

    async def run_before(pilot: Any) -> None:
        await clock.run_for(300, step=5)
        await pilot.press("3", "f")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
