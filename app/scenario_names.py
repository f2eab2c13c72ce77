"""The simulator's default scenarios, by name: what `shiftroom demo` and `shiftroom watch --demo` run.

A module of its own so that the command line can name them in its help without importing the
room or the simulator (`shiftroom --help` and the parser before the first frame stay light).
"""

#: `shiftroom demo`, and a verb's bare `--demo`.
DEFAULT_SCENARIO = "release-day"
#: `shiftroom watch --demo`: the world keeps releasing, so a wall never idles.
WATCH_SCENARIO = "loop"
