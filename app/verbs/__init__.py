"""Headless verbs for pipelines: `status`, `wait` and the rollout commands, with exit codes to branch on.

Exit codes (the same for every verb):

- 0: the awaited state (or the command was done)
- 1: a terminal failure (Failed while waiting for Succeeded; the engine refused the command)
- 2: bad input (unknown target, missing `--yes` without a terminal, a bad flag, no kubeconfig or an
  unknown context, a verb the target's controller has no mechanism for)
- 3: timeout
- 4: a backend that could not be reached
"""

from __future__ import annotations

OK = 0
FAILED = 1
BAD_INPUT = 2
TIMEOUT = 3
UNREACHABLE = 4

#: The rollout commands, as the CLI names them (`app.control.commands.Verb` values).
VERBS = ("promote", "abort", "pause", "resume", "step", "switch", "undo")
#: What `wait --until` accepts.
UNTIL = ("Succeeded", "Failed", "Promoted", "Paused")
