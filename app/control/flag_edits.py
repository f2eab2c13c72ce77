"""What a store command changes in a stored value, computed on its text (pure: no I/O).

Each function takes the stored text (see `rawjson`) and returns an `Edit`:
the new text (only the changed members rewritten), and the changed fields'
values before and after (for the preview and the audit event). A value that
cannot be edited gives a sentence instead.

The kill switch writes the shape the README describes: `enabled: false`,
`percentage: 0`, `userWhitelist: []` (and `environments: []` when the stored
environments are malformed), plus `killed: {at, by, reason, previous, absent}`
where `previous` holds the overwritten members exactly as they were stored and
`absent` names the ones that were not there (a stored `null` stays a `null`).
Killing a killed flag keeps the first `previous` and `absent`, so a restore
goes back to before the first kill. A record without `absent` (written before
it existed) reads a `null` in `previous` as absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.audit import iso_time
from app.control import rawjson
from app.flag_json import validate_flag_config
from app.flags import served

KILL_VALUES: dict[str, str] = {"enabled": "false", "percentage": "0", "userWhitelist": "[]"}
#: Fields the seed's evaluation reads: the only ones parsed to prove a killed flag is off.
EVALUATED = ("environments", "userWhitelist", "percentage", "enabled", "bucketing")
PROOF_ENVIRONMENTS = ("production", "staging", "development", "dev", "test", "qa", "", None)
ABSENT_TEXT = "(absent)"


@dataclass(frozen=True)
class Edit:
    text: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    problem: str = ""  # one sentence when the edit cannot be made

    @property
    def changed(self) -> bool:
        return bool(self.before or self.after) and self.before != self.after


def shown(parsed: tuple[Any, str, str] | None) -> Any:
    """A member's value for an audit event: the value, its raw text when unparseable, None when absent."""
    if parsed is None:
        return None
    value, problem, raw = parsed
    return raw if problem else value


def _after(changes: Mapping[str, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in changes.items():
        value, problem = rawjson.parse(v) if v is not None else (None, "")
        out[k] = v if problem else value
    return out


def _object(text: str, what: str) -> tuple[list[rawjson.Member], dict[str, tuple[Any, str, str]]] | str:
    found = rawjson.members(text)
    if found is None:
        return (
            f"{what} is not a JSON object, so the seed's service cannot serve it (it answers 500 and its "
            "clients fail closed); Shiftroom leaves it untouched."
        )
    return found, rawjson.values(text, found)


def kill(text: str, name: str, *, at: float, by: str, reason: str) -> Edit:
    """Flag `name` off for every user in every environment, with a restorable `killed` record."""
    got = _object(text, f"Flag {name}")
    if isinstance(got, str):
        return Edit(problem=got)
    found, current = got
    changes: dict[str, str | None] = dict(KILL_VALUES)
    envs = current.get("environments")
    if envs is not None and (envs[1] or "environments" in validate_flag_config({"environments": envs[0]})):
        changes["environments"] = "[]"
    kept = _kept_previous(current.get("killed"))
    absent_raw: str | None
    if kept is None:
        saved = [k for k in [*changes, "killed"] if k in current]  # a `killed` of someone else's comes back too
        previous_raw = "{" + ",".join(f"{rawjson.dump(k)}:{current[k][2]}" for k in saved) + "}"
        absent_raw = rawjson.dump([k for k in changes if k not in current])
    else:
        previous_raw, absent_raw = kept
    record = f'"previous":{previous_raw}' + (f',"absent":{absent_raw}' if absent_raw is not None else "")
    changes["killed"] = (
        f'{{"at":{rawjson.dump(iso_time(at))},"by":{rawjson.dump(by)},"reason":{rawjson.dump(reason)},{record}}}'
    )

    new_text = rawjson.splice(text, found, changes)
    before = {k: shown(current.get(k)) for k in changes}
    problem = off_everywhere(new_text, name)
    return Edit(new_text, before, _after(changes), f"{problem} Nothing was written." if problem else "")


def _kept_previous(killed: tuple[Any, str, str] | None) -> tuple[str, str | None] | None:
    """The raw `previous` and `absent` of an earlier kill, when there is a usable one (`absent` None: an older
    record without it)."""
    if killed is None:
        return None
    inner = rawjson.members(killed[2]) or []
    prev = next((m for m in reversed(inner) if m.key == "previous"), None)
    if prev is None:
        return None
    raw = killed[2][prev.value_start : prev.value_end]
    if rawjson.members(raw) is None:
        return None
    gone = next((m for m in reversed(inner) if m.key == "absent"), None)
    if gone is None:
        return raw, None
    absent_raw = killed[2][gone.value_start : gone.value_end]
    names, problem = rawjson.parse(absent_raw)
    if problem or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return raw, absent_raw


def restore(text: str, name: str) -> Edit:
    """Undo a kill: the members saved under `killed.previous` go back, `killed` goes."""
    got = _object(text, f"Flag {name}")
    if isinstance(got, str):
        return Edit(problem=got)
    found, current = got
    kept = _kept_previous(current.get("killed"))
    if kept is None:
        return Edit(
            problem=f"Flag {name} was not killed by Shiftroom (no killed.previous record), so there is "
            "nothing to restore."
        )
    raw_previous, absent_raw = kept
    changes: dict[str, str | None] = {"killed": None}
    for m in rawjson.members(raw_previous) or []:
        raw = raw_previous[m.value_start : m.value_end]
        changes[m.key] = None if raw == "null" and absent_raw is None else raw
    for gone in rawjson.parse(absent_raw)[0] if absent_raw is not None else []:
        changes[gone] = None
    new_text = rawjson.splice(text, found, changes)
    before = {k: shown(current.get(k)) for k in changes}
    return Edit(new_text, before, _after(changes))


def save(text: str | None, name: str, config: Mapping[str, Any]) -> Edit:
    """`config` over the stored flag: only the members whose value differs are rewritten.

    A stored member that cannot be parsed is never removed (the editor could not
    have shown it); a parsed one missing from `config` is removed.
    """
    if text is None:
        try:
            new = rawjson.dump(dict(config))
        except (TypeError, ValueError, RecursionError) as exc:
            return Edit(problem=f"Flag {name} cannot be stored as JSON ({exc}).")
        return Edit(new, {k: None for k in config}, dict(config))
    got = _object(text, f"Flag {name}")
    if isinstance(got, str):
        return Edit(problem=got)
    found, current = got
    changes: dict[str, str | None] = {}
    try:
        for k, v in config.items():
            if k not in current or current[k][1] or current[k][0] != v:
                changes[k] = rawjson.dump(v)
    except (TypeError, ValueError, RecursionError) as exc:
        return Edit(problem=f"Flag {name} cannot be stored as JSON ({exc}).")
    for k, (_, problem, _) in current.items():
        if k not in config and not problem:
            changes[k] = None
    before = {k: shown(current.get(k)) for k in changes}
    return Edit(rawjson.splice(text, found, changes), before, _after(changes))


def set_status(text: str, experiment: str, status: str) -> Edit:
    got = _object(text, f"Experiment {experiment}")
    if isinstance(got, str):
        return Edit(
            problem=got.replace(
                "the seed's service cannot serve it (it answers 500 and its clients fail closed)",
                "the seed's manager cannot read it",
            )
        )
    found, current = got
    before = shown(current.get("status"))
    if before == status:
        return Edit(text, {"status": before}, {"status": status})
    return Edit(rawjson.splice(text, found, {"status": json.dumps(status)}), {"status": before}, {"status": status})


# ---------------------------------------------------------------- proof and impact


def evaluated_fields(text: str) -> dict[str, Any]:
    """The members the seed's `evaluateFlag` reads, parsed (an unparseable one as its raw text)."""
    found = rawjson.members(text) or []
    current = rawjson.values(text, found)
    return {k: shown(current[k]) for k in EVALUATED if k in current}


def off_everywhere(text: str, name: str, user_ids: Iterable[str | None] = ()) -> str | None:
    """None when no user gets the flag in any environment; else a counterexample sentence."""
    config = evaluated_fields(text)
    if config.get("percentage") or config.get("enabled") is not False or config.get("userWhitelist"):
        return f"Flag {name} would still have a percentage, a whitelist or enabled set."
    envs = config.get("environments")
    listed = [e for e in envs if isinstance(e, str)] if isinstance(envs, list) else []
    ids = [*user_ids, "user-0", "user-1", "anonymous", "", None]
    for env in dict.fromkeys([*PROOF_ENVIRONMENTS, *listed]):
        for uid in ids:
            if served(config, uid, env, name=name):
                return f"Flag {name} would still be on for user {uid!r} in environment {env!r}."
    return None


def impact(before_text: str, after_text: str, name: str, user_ids: list[str], label: str) -> list[str]:
    """Per environment, how many sample ids have the flag now and after the change."""
    before, after = evaluated_fields(before_text), evaluated_fields(after_text)
    envs = (
        [e for e in (before.get("environments") or []) if isinstance(e, str)][:4]
        if isinstance(before.get("environments"), list)
        else []
    )
    lines = []
    for env in envs or ["production"]:
        now = sum(served(before, u, env, name=name) for u in user_ids)
        later = sum(served(after, u, env, name=name) for u in user_ids)
        lines.append(f"{env}: {now:,} of {len(user_ids):,} ({label}) have it → {later:,}")
    wl = before.get("userWhitelist")
    if isinstance(wl, list) and wl and after.get("userWhitelist") != wl:
        shown_ids = ", ".join(str(u) for u in wl[:5]) + (f" and {len(wl) - 5} more" if len(wl) > 5 else "")
        lines.append(f"whitelisted ids lose it: {shown_ids}")
    return lines


def value_text(value: Any, limit: int = 48) -> str:
    """A JSON value on one short line."""
    if value is None:
        return ABSENT_TEXT
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_lines(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """One line per changed field: `percentage: 25 → 0`, `+ killed: {...}`, `- killed (was ...)`."""
    lines = []
    for key in dict.fromkeys([*before, *after]):
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        if b is None:
            lines.append(f"+ {key}: {value_text(a)}")
        elif a is None:
            lines.append(f"- {key} (was {value_text(b)})")
        else:
            lines.append(f"{key}: {value_text(b)} → {value_text(a)}")
    return lines


def change_lines(edit: Edit) -> list[str]:
    """`diff_lines`, with a kill's `killed` record said in words rather than as JSON."""
    killed = edit.after.get("killed")
    if not isinstance(killed, Mapping) or edit.before.get("killed") is not None:
        return diff_lines(edit.before, edit.after)
    lines = diff_lines(
        {k: v for k, v in edit.before.items() if k != "killed"}, {k: v for k, v in edit.after.items() if k != "killed"}
    )
    return lines + [
        f"+ killed: by {killed.get('by')} at {killed.get('at')}, your reason, and the previous values "
        f"{value_text(killed.get('previous'), 60)}"
    ]


def parse_user_ids(text: str) -> list[str]:
    """Ids pasted one per line, or separated by commas, spaces or tabs; a JSON array works too."""
    text = text.strip()
    if text.startswith("["):
        value, problem = rawjson.parse(text)
        if not problem and isinstance(value, list):
            return [str(u) for u in value if u is not None]
    return [part for part in text.replace(",", " ").split() if part]
