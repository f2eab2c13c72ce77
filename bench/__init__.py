"""Shiftroom's benchmarks: figures printed beside a baseline measured the same way in the same run.

`python -m bench` runs them all; each module also runs alone
(`python -m bench.first_frame`, `bench.terminal_bytes`, `bench.canary_timing`).
They print numbers and ratios; they never pass or fail on a timing.
"""
