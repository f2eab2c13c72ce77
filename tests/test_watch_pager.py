"""The wall's pager line at 80×24 says whole how to see the other pages (it was cut to `--cycle S…`)."""

from __future__ import annotations

from tests.test_watch import wall


async def test_pager_line_fits_80_columns() -> None:
    app, clock = wall("loop")
    async with app.run_test(size=(80, 24)) as pilot:
        await clock.advance(2)
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        lines = ["".join(segment.text for segment in strip) for strip in strips]
        line = next(text for text in lines if "rollouts ·" in text)
        assert "2 more: --cycle SEC" in line and "…" not in line.split("rollouts ·")[1][:45], line
