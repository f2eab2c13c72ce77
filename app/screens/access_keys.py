"""Keys this identity may not use on the selected row, and the bootstrap key.

The engine says, per row, which verbs the identity may not take and why (`Rollout.denied`: the sentence
a 403 would get). The control screen's `check_action` answers None for such a key, so the footer shows
it dimmed, with the reason as its tooltip (`with_reasons`); help and the palette mark it too
(app/screens/binding_list.py). Pressing it sends nothing: Textual tries the next binding for that key,
a hidden one from `denied_fallbacks`, which says the reason at once, with no dialog.

On a row another controller drives (an Argo Rollout, a Flagger Canary), Shiftroom's own `m` (auto/manual)
and `b` (blue-green switch) are shown disabled the same way, with a sentence saying what drives the row and
which of its keys to use instead (`not_here_reason`); the engine refuses those verbs there too.

`B` bootstraps a canary whose layout is incomplete (`Rollout.needs_bootstrap`): the engine's preview
lists exactly the objects it would create, a confirmation shows it, and the engine creates them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from textual.binding import ActiveBinding, Binding

from app.control.commands import BOOTSTRAP, BootstrapCanary, Preview, Result, Verb
from app.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from app.model import Rollout

BOOTSTRAP_BINDING = Binding(
    "B",
    "bootstrap",
    "Bootstrap",
    id="bootstrap",
    tooltip="canary: create what is missing of Flagger's layout (shown first)",
)
#: Behind `B` on a row that needs no bootstrap: says so.
BOOTSTRAP_FALLBACK = Binding("B", "nothing_to_bootstrap", show=False)
MY_ACTIONS = ("denied", "bootstrap", "nothing_to_bootstrap")
VERBS = sorted((v.value for v in Verb), key=len, reverse=True)  # "close-gate" before "close"


def _arg(parameters: tuple[object, ...]) -> str:
    return str(parameters[0]) if parameters else ""


def verb_of(action: str, parameters: tuple[object, ...], rollout: Rollout | None) -> str:
    """The verb an action would send for `rollout` ("" when it sends no rollout command)."""
    if action == "act":
        return _arg(parameters)
    if action == "pause_resume":
        return Verb.RESUME.value if rollout is not None and rollout.paused else Verb.PAUSE.value
    if action == "auto_manual":
        return Verb.AUTO.value if rollout is not None and not rollout.auto else Verb.MANUAL.value
    if action == "foreign":  # a key id of another controller's verb: "<verb>" or "<verb>-<gate>"
        key = _arg(parameters)
        return next((v for v in VERBS if key == v or key.startswith(f"{v}-")), "")
    if action == "bootstrap":
        return BOOTSTRAP
    return ""


def denied_reason(action: str, parameters: tuple[object, ...], rollout: Rollout | None) -> str:
    if rollout is None or not rollout.denied:
        return ""
    verb = verb_of(action, parameters, rollout)
    return rollout.denied.get(verb, "") if verb else ""


#: Shiftroom's own verbs that another controller has not got: (verb → what to use instead), per controller.
NOT_HERE = {
    "argo": (
        "Rollout {key} is driven by Argo Rollouts",
        {
            "auto": "which has no auto/manual mode: pause (space), promote (p) or abort (a) it",
            "manual": "which has no auto/manual mode: pause (space), promote (p) or abort (a) it",
            "switch": "which switches by its own steps: promote (p) to go on, abort (a) to go back",
        },
    ),
    "flagger": (
        "Canary {key} is driven by Flagger",
        {
            "auto": "which has no auto/manual mode: suspend it (space) or open its gates (p, a)",
            "manual": "which has no auto/manual mode: suspend it (space) or open its gates (p, a)",
            "switch": "which promotes by itself after its analysis: open its promotion gate (p) or roll back (a)",
        },
    ),
}


def not_here_reason(action: str, parameters: tuple[object, ...], rollout: Rollout | None) -> str:
    """Why a Shiftroom-only key does nothing on a row another controller drives ("" when it applies)."""
    if rollout is None or rollout.driven_by not in NOT_HERE:
        return ""
    who, instead = NOT_HERE[rollout.driven_by]
    verb = verb_of(action, parameters, rollout) if action in ("act", "auto_manual") else ""
    return f"{who.format(key=rollout.key)}, {instead[verb]}." if verb in instead else ""


def _split(action: str) -> tuple[str, str]:
    name, _, rest = action.partition("(")
    return name, rest.rstrip(")").strip("'\"")


def denied_fallbacks(bindings: Iterable[Binding]) -> list[Binding]:
    """A hidden binding behind each action key: it runs only when `check_action` disabled the real one."""
    out = []
    for binding in bindings:
        name, arg = _split(binding.action)
        out.append(Binding(binding.key, f"denied('{name}', '{arg}')", show=False))
    return out


def check(action: str, parameters: tuple[object, ...], rollout: Rollout | None) -> bool | None:
    """`check_action` for this module's actions (on the rollouts tab)."""
    if action == "denied":  # only behind a key this row denies, or that does not apply to its controller
        name, arg = (str(p) for p in (*parameters, "", "")[:2])
        args = (arg,) if arg else ()
        return bool(denied_reason(name, args, rollout) or not_here_reason(name, args, rollout))
    needs = rollout is not None and rollout.driven_by == "shiftroom" and bool(rollout.needs_bootstrap)
    if action == "bootstrap":
        return (None if denied_reason(action, (), rollout) else True) if needs else False
    return rollout is not None and not needs  # nothing_to_bootstrap


def nothing_to_bootstrap(rollout: Rollout) -> str:
    if rollout.driven_by != "shiftroom":
        return f"{rollout.key} is driven by {rollout.driven_by}: its own controller makes its objects."
    return f"{rollout.key} needs no bootstrap: every object of its layout is there."


def with_reasons(bindings: Mapping[str, ActiveBinding], rollout: Rollout | None) -> dict[str, ActiveBinding]:
    """The footer's bindings, a denied one with its reason as the tooltip."""
    out = dict(bindings)
    for key, active in bindings.items():
        if not active.enabled:
            name, arg = _split(active.binding.action)
            args = (arg,) if arg else ()
            reason = denied_reason(name, args, rollout)
            if reason:
                out[key] = active._replace(tooltip=f"not allowed: {reason}")
            elif other := not_here_reason(name, args, rollout):
                out[key] = active._replace(tooltip=f"not here: {other}")
    return out


async def bootstrap_flow(screen: Any, key: str) -> None:
    """Preview, confirm (the dialog lists each object), execute with the preview; a stale one shows again."""
    engine = screen.app.engine
    command = BootstrapCanary(key)
    preview: Preview = await engine.preview(command)
    while True:
        if not preview.possible:
            screen.notify("; ".join(preview.lines), title=f"bootstrap {key}", severity="warning", timeout=8)
            return
        confirmed = await screen.app.push_screen_wait(
            ConfirmScreen(preview, refresh=lambda: engine.preview(command), action="bootstrap")
        )
        if confirmed is None:
            screen.notify(f"bootstrap {key}: cancelled.", timeout=3)
            return
        result: Result = await engine.execute(command, confirmed=confirmed)
        if not (result.stale and result.preview is not None):
            severity = "information" if result.ok else "error"
            screen.notify(result.message, title=f"bootstrap {key}", severity=severity, timeout=8)
            return
        screen.notify(result.message, severity="warning", timeout=6)
        preview = result.preview
