"""Which rollout verbs another controller has a mechanism for (bad input when it has none: exit 2).

A verb on a Flagger Canary or an Argo Rollout goes through the engine's foreign commands
(`app.control.foreign_plan`): the request the controller's own tool sends. When the controller
has no such mechanism at all, the verb is bad input, not a refusal of the moment:

- Argo Rollouts: promote, step (`promote`), abort, pause, resume, undo; no `switch` (a
  blue-green Rollout switches on `promote`).
- Flagger: pause and resume (spec.suspend) always; promote and step only through a promotion
  gate, abort only through a rollback gate (the load tester's gates the Canary's webhooks ask);
  never switch or undo (Flagger promotes and rolls back by itself).
"""

from __future__ import annotations

from app.model import Rollout
from app.sanitize import clean

ARGO = frozenset({"promote", "step", "abort", "pause", "resume", "undo"})
FLAGGER = frozenset({"pause", "resume"})
FLAGGER_GATED = {"promote": "promotion", "step": "promotion", "abort": "rollback"}


def missing(row: Rollout, verb: str) -> str:
    """One sentence when the row's controller has no mechanism for `verb`; "" when it has one."""
    key = clean(row.key)
    if row.driven_by == "argo":
        if verb in ARGO:
            return ""
        return (
            f"Argo Rollouts has no {verb} for Rollout {key}: its verbs here are promote, step, abort, pause, "
            "resume and undo (a blue-green Rollout switches on promote)."
        )
    if row.driven_by != "flagger" or verb in FLAGGER:
        return ""
    gate = FLAGGER_GATED.get(verb)
    if gate is None:
        return (
            f"Flagger has no {verb} for Canary {key}: Flagger promotes and rolls back by itself; "
            "from here it can be paused and resumed, and promoted or aborted through its load tester gates."
        )
    if gate in row.gates:
        return ""
    hooks = (
        "a confirm-rollout, confirm-traffic-increase or confirm-promotion webhook at the load tester's /gate/check"
        if gate == "promotion"
        else "a rollback webhook at the load tester's /rollback/check"
    )
    return (
        f"Canary {key} has no {gate} gate ({hooks}), so Flagger has no way to be told to {verb} it; "
        "pause and resume work."
    )
