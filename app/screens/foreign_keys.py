"""Keys for the verbs of rollouts another controller drives (Argo Rollouts, Flagger).

Each key is offered (footer, help) only on a row where its verb applies: `P`, `t` and `R` on
an Argo Rollout (`t` only once it is aborted), `S` on a Flagger Canary, `g` / `G` on a Canary
whose webhooks point at the load tester's promotion / rollback gate. `p` and `a` on a Canary
open those gates (app/control/foreign_plan.py). On any other row the same key answers with one
sentence saying why it does nothing (a hidden binding behind the real one, as
`strategy_fallbacks` does for the strategies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding

from app.control.commands import Verb

if TYPE_CHECKING:
    from app.model import Rollout


@dataclass(frozen=True)
class ForeignKey:
    key: str
    verb: Verb
    gate: str  # OPEN_GATE / CLOSE_GATE: "promotion" or "rollback"
    label: str
    tooltip: str
    driver: str  # "argo" or "flagger"

    @property
    def id(self) -> str:
        return f"{self.verb.value}-{self.gate}" if self.gate else self.verb.value

    @property
    def action(self) -> str:
        return f"foreign('{self.id}')"

    def applies(self, rollout: Rollout | None) -> bool:
        if rollout is None or rollout.driven_by != self.driver:
            return False
        if self.verb is Verb.RETRY:
            return rollout.aborted
        if self.gate:
            return self.gate in rollout.gates
        return True

    def why_not(self, rollout: Rollout) -> str:
        what = {"argo": "an Argo Rollout", "flagger": "a Flagger Canary"}[self.driver]
        if rollout.driven_by != self.driver:
            return f"{self.label} applies only to {what}; {rollout.key} is driven by {rollout.driven_by}."
        if self.verb is Verb.RETRY:
            return f"Rollout {rollout.key} is not aborted: nothing to retry."
        return (
            f"Canary {rollout.key} has no {self.gate} gate: no webhook points at the load tester's "
            f"{'/gate/check' if self.gate == 'promotion' else '/rollback/check'}."
        )


FOREIGN_KEYS = (
    ForeignKey("P", Verb.PROMOTE_FULL, "", "Promote full", "argo: promote --full, skip the remaining steps", "argo"),
    ForeignKey("t", Verb.RETRY, "", "Retry", "argo: retry the aborted rollout", "argo"),
    ForeignKey("R", Verb.RESTART, "", "Restart", "argo: restart its pods (spec.restartAt)", "argo"),
    ForeignKey("S", Verb.SKIP_ANALYSIS, "", "Skip analysis", "flagger: promote without checks", "flagger"),
    ForeignKey("g", Verb.CLOSE_GATE, "promotion", "Close gate", "flagger: close the promotion gate", "flagger"),
    ForeignKey("G", Verb.CLOSE_GATE, "rollback", "Close rollback", "flagger: close the rollback gate", "flagger"),
)
BY_ID = {k.id: k for k in FOREIGN_KEYS}
FOREIGN_BINDINGS = [Binding(k.key, k.action, k.label, id=k.id, tooltip=k.tooltip) for k in FOREIGN_KEYS]
#: Behind each key: says why it does nothing on the selected row.
FOREIGN_FALLBACKS = [Binding(k.key, f"not_for_row('{k.id}')", show=False) for k in FOREIGN_KEYS]
FOREIGN_IDS = frozenset(BY_ID)
