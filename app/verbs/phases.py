"""What `wait --until` means for a rollout, whoever drives it: Shiftroom, Flagger or Argo Rollouts.

`judge(row, until)` says "reached", "failed" (it can no longer get there this release) or None
(keep waiting). The rows already speak one vocabulary (`app.model.Phase`): Shiftroom's own
controllers and Flagger use Flagger's phases; an Argo Rollout's row carries the phase
`kubectl argo rollouts get` shows (Healthy, Progressing, Paused, Degraded), `aborted`
(status.abort) and `paused` (spec.paused or a pause condition). The README's table
"What `wait --until` waits for" is this module.

- Succeeded: Flagger's Succeeded; Argo's Healthy. Argo says Progressing until its controller has
  observed the current spec (observedGeneration), so Healthy means healthy after the update.
- Failed: Flagger's Failed; Argo's Degraded or an abort (status.abort, even before the controller
  has written Degraded).
- Promoted: all traffic goes (or is going) to the new revision: Flagger's Promoting, Finalising,
  Succeeded; Argo's Healthy, a canary past its last step, a blue-green whose active Service
  selects the new ReplicaSet.
- Paused: Flagger's spec.suspend; Argo's spec.paused or a pause step; Shiftroom's pause.
- A Canary being deleted (Terminating, Terminated) ends every wait as a failure: it got nowhere.
"""

from __future__ import annotations

from app.model import Phase, Rollout, Strategy

SUCCEEDED = (Phase.SUCCEEDED, Phase.HEALTHY)
FAILED = (Phase.FAILED, Phase.DEGRADED)
GONE = (Phase.TERMINATING, Phase.TERMINATED)
PROMOTED = (Phase.PROMOTING, Phase.FINALISING, *SUCCEEDED)


def failed(r: Rollout) -> bool:
    return r.phase in FAILED or r.aborted


def promoted(r: Rollout) -> bool:
    if r.phase in PROMOTED:
        return True
    if r.driven_by != "argo":
        return False
    if r.strategy is Strategy.BLUE_GREEN:
        return r.actual.canary == 100  # the active Service selects the new ReplicaSet
    return r.steps > 0 and r.step >= r.steps  # past the last step: the new ReplicaSet becomes stable


def judge(r: Rollout, until: str) -> str | None:
    """ "reached", "failed", or None (keep waiting)."""
    if r.phase in GONE:
        return "failed"
    if until == "Failed":
        return "reached" if failed(r) else "failed" if r.phase in SUCCEEDED else None
    if failed(r):
        return "failed"
    if until == "Succeeded":
        return "reached" if r.phase in SUCCEEDED else None
    if until == "Promoted":
        return "reached" if promoted(r) else None
    if until == "Paused":
        if r.paused or r.phase is Phase.PAUSED:
            return "reached"
        return "failed" if r.phase in SUCCEEDED else None
    raise ValueError(f"unknown --until {until!r}")
