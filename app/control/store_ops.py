"""Writes to the flag and experiment store, each with its audit record.

Edits are optimistic: the editor read a flag at some version and the write
names that version, so two people editing one flag never overwrite each
other; the loser is told what the other change was and keeps their edits.
The kill switch and status changes re-read and re-apply on a conflict
instead, because their result does not depend on what changed meanwhile.
A refused write (read-only room, store down, invalid data) is one sentence
and leaves the store as it was: every write is a single `put_*_raw`.

No Textual here: the engine object is passed in, and the headless CLI can
drive the same functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.audit import changed_fields, describe_changes, iso_time
from app.control.commands import Result as ActionResult
from app.flags import evaluate, flag_to_json, served, validate_flag_config, validate_flag_name
from app.model import AuditEvent, Level
from backends.base import BackendError, Conflict

#: The version token of a flag that does not exist yet: a write naming it creates only.
NEW = "0"
#: What the kill switch writes over a flag (see `killed_config`).
KILL_FIELDS: dict[str, Any] = {"enabled": False, "percentage": 0, "userWhitelist": []}
#: Experiment statuses the room can set; the seed assigns users only while "active".
STATUSES = ("draft", "active", "paused", "completed", "stopped")
#: Environments always tried when proving a killed flag is off, besides the flag's own.
PROOF_ENVIRONMENTS = ("production", "staging", "development", "dev", "test", "qa", "", None)
ATTEMPTS = 3


@dataclass(frozen=True)
class StoreResult(ActionResult):
    """An `ActionResult` that also carries what the screen needs to go on.

    `errors` maps a field to its reason when validation refused the write;
    after a conflict `conflict` is set, `current`/`version` hold what is stored
    now and `other_change` describes the change that won.
    """

    errors: dict[str, str] = field(default_factory=dict)
    conflict: bool = False
    current: dict[str, Any] | None = None
    version: str | None = None
    other_change: str = ""


# ---------------------------------------------------------------- pure helpers


def value_text(value: Any, limit: int = 48) -> str:
    """A JSON value on one short line."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_lines(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """One line per top-level field that differs: `percentage: 25 → 50`, `+ killed: {...}`."""
    b, a = dict(before or {}), dict(after or {})
    lines = []
    for key in changed_fields(b, a):
        if key not in b:
            lines.append(f"+ {key}: {value_text(a[key])}")
        elif key not in a:
            lines.append(f"- {key} (was {value_text(b[key])})")
        else:
            lines.append(f"{key}: {value_text(b[key])} → {value_text(a[key])}")
    return lines


def killed_config(before: Mapping[str, Any], *, at: float, by: str, reason: str) -> dict[str, Any]:
    """`before` turned off for every user in every environment, with how to undo it.

    The seed's `evaluateFlag` denies by environment first, then serves a
    whitelisted user before reading anything else, then lets a non-zero
    percentage decide before `enabled`: so the whitelist is emptied, the
    percentage zeroed and `enabled` cleared. Environments stay as they were
    (they can only deny) unless they are malformed, when they become `[]`.
    Unknown fields are kept; `killed.previous` holds the overwritten values
    (null for a field that was absent). Killing a killed flag keeps the
    first `previous`, so a restore goes back to before the first kill.
    """
    changes = dict(KILL_FIELDS)
    envs = before.get("environments")
    if envs is not None and "environments" in validate_flag_config({"environments": envs}):
        changes["environments"] = []
    earlier = before.get("killed")
    if isinstance(earlier, Mapping) and isinstance(earlier.get("previous"), Mapping):
        previous = dict(earlier["previous"])
    else:
        previous = {k: before.get(k) for k in changes}
    after = flag_to_json(changes, before)
    after["killed"] = {"at": iso_time(at), "by": by, "reason": reason, "previous": previous}
    return after


def restored_config(killed: Mapping[str, Any]) -> dict[str, Any] | None:
    """The flag as it was before its kill; None when it carries no usable `killed` record."""
    record = killed.get("killed")
    if not isinstance(record, Mapping) or not isinstance(record.get("previous"), Mapping):
        return None
    out = flag_to_json(dict(record["previous"]), killed)
    out.pop("killed", None)
    return out


def off_everywhere(config: Mapping[str, Any], name: str, user_ids: Iterable[str | None] = (),
                   environments: Iterable[str | None] = ()) -> str | None:
    """None when no user gets the flag in any environment; else a counterexample sentence.

    Checked twice: structurally (the fields `evaluate` reads can only answer
    false) and by evaluating `user_ids` in every environment listed.
    """
    if config.get("percentage") or config.get("enabled") is not False or config.get("userWhitelist"):
        return f"Flag {name} still has a percentage, a whitelist or enabled set."
    envs = list(dict.fromkeys([*PROOF_ENVIRONMENTS, *environments]))
    for env in envs:
        for uid in user_ids:
            try:
                on = evaluate(config, uid, env, name=name)
            except Exception:  # the seed's service would answer 500; its clients fail closed
                on = served(config, uid, env, name=name)
            if on:
                return f"Flag {name} is still on for user {uid!r} in environment {env!r}."
    return None


def proof_users(config: Mapping[str, Any], n: int = 2000) -> list[str | None]:
    """Ids that cover every percentage bucket, every whitelisted id, anonymous and no id."""
    ids: list[str | None] = [f"user-{i}" for i in range(n)]
    for key in ("userWhitelist",):
        value = config.get(key)
        if isinstance(value, list):
            ids += [u for u in value if isinstance(u, str)]
    previous = config.get("killed", {}).get("previous", {}) if isinstance(config.get("killed"), Mapping) else {}
    if isinstance(previous, Mapping) and isinstance(previous.get("userWhitelist"), list):
        ids += [u for u in previous["userWhitelist"] if isinstance(u, str)]
    return ids + ["anonymous", "", None]


def known_environments(*configs: Mapping[str, Any] | None) -> list[str]:
    out: list[str] = []
    for config in configs:
        envs = (config or {}).get("environments")
        if isinstance(envs, list):
            out += [e for e in envs if isinstance(e, str)]
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------- shared checks


def _refusal(engine: Any, what: str) -> str | None:
    if engine.store is None:
        return f"This room has no flag store, so {what} was not changed."
    if engine.read_only or getattr(engine.store, "read_only", False):
        return f"This room is read-only, so {what} was not changed."
    return None


async def _audit(engine: Any, target: str, action: str, reason: str, before: Mapping[str, Any] | None,
                 after: Mapping[str, Any] | None, level: Level = Level.INFO) -> None:
    await engine.record(AuditEvent(t=engine.clock.now(), actor=engine.actor, target=target, action=action,
                                   reason=reason, before=dict(before or {}), after=dict(after or {}), level=level))


async def _refused(engine: Any, target: str, action: str, err: BackendError) -> StoreResult:
    """A write the store refused: one sentence on screen and in the audit log."""
    await _audit(engine, target, f"{action}-refused", str(err), None, None, Level.WARN)
    return StoreResult(False, str(err))


async def _republish(engine: Any) -> None:
    refresh = getattr(engine, "refresh_store", None)
    if refresh is not None:
        try:
            await refresh()
        except Exception:  # the write is done; the next pass shows it anyway
            pass


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


# ---------------------------------------------------------------- flags


async def edit_flag(engine: Any, name: str, new_config: Mapping[str, Any], expected_version: str | None, *,
                    base: Mapping[str, Any] | None = None, reason: str = "") -> StoreResult:
    """Write `new_config` as flag `name` unless it changed since `expected_version` ("0": create).

    `base` is what the editor read; after a conflict the result describes
    how the stored flag differs from it (the other change) and nothing is
    overwritten.
    """
    what = f"flag {name}"
    refusal = _refusal(engine, what)
    if refusal:
        return StoreResult(False, refusal)
    errors: dict[str, str] = {}
    try:
        validate_flag_name(name)
    except ValueError as exc:
        errors["name"] = str(exc)
    errors.update(validate_flag_config(new_config))
    if errors:
        return StoreResult(False, " ".join(errors.values()), errors=errors)
    target = f"flag/{name}"
    try:
        current, version = await engine.store.get_flag_raw(name)
        if expected_version is not None and version != expected_version:
            raise Conflict(getattr(engine.store, "name", "store"), f"Flag {name} changed since it was read.")
        new_version = await engine.store.put_flag_raw(name, dict(new_config), expected_version)
    except Conflict:
        return await _conflict(engine, name, expected_version, base)
    except BackendError as err:
        return await _refused(engine, target, "flag-edit", err)
    action = "flag-create" if current is None else "flag-edit"
    await _audit(engine, target, action, reason, current, new_config)
    await _republish(engine)
    change = describe_changes(current, new_config) or "no field changed"
    verb = "created" if current is None else "saved"
    return StoreResult(True, f"Flag {name} {verb}: {change}.", current=dict(new_config), version=new_version)


async def _conflict(engine: Any, name: str, expected: str | None, base: Mapping[str, Any] | None) -> StoreResult:
    try:
        current, version = await engine.store.get_flag_raw(name)
    except BackendError as err:
        return StoreResult(False, f"Flag {name} changed since you read it, and re-reading it failed: {err}",
                           conflict=True)
    if current is None:
        change = "it was deleted"
    elif expected == NEW:
        change = "someone created it meanwhile"
    else:
        change = describe_changes(base, current) if base is not None else ""
        change = change or "it was rewritten with the same values"
    message = (f"Flag {name} was changed by someone else since you opened it ({change}); "
               "your edits were not saved, review them against the new version and save again.")
    return StoreResult(False, message, conflict=True, current=current, version=version, other_change=change)


async def kill_flag(engine: Any, name: str, reason: str) -> StoreResult:
    """Turn flag `name` off for every user in every environment, keeping how to restore it."""
    what = f"flag {name}"
    refusal = _refusal(engine, what)
    if refusal:
        return StoreResult(False, refusal)
    if not reason.strip():
        return StoreResult(False, f"Say why flag {name} is killed: the reason goes to the audit log.",
                           errors={"reason": "A reason is required."})
    target = f"flag/{name}"
    for _ in range(ATTEMPTS):
        try:
            before, version = await engine.store.get_flag_raw(name)
            if before is None:
                return StoreResult(False, f"Flag {name} does not exist, so the seed's service already serves it as off.")
            after = killed_config(before, at=engine.clock.now(), by=engine.actor, reason=reason.strip())
            problem = off_everywhere(after, name, proof_users(after), known_environments(before, after))
            if problem:
                return StoreResult(False, f"{problem} Nothing was written.")
            new_version = await engine.store.put_flag_raw(name, after, version)
        except Conflict:
            continue  # someone wrote meanwhile: off is off, re-read and apply again
        except BackendError as err:
            return await _refused(engine, target, "flag-kill", err)
        await _audit(engine, target, "flag-kill", reason.strip(), before, after, Level.WARN)
        await _republish(engine)
        return StoreResult(True, f"Flag {name} is off for every user in every environment; "
                                 "the previous values are kept under killed.", current=after, version=new_version)
    return StoreResult(False, f"Flag {name} kept changing while it was being killed; try again.", conflict=True)


async def restore_flag(engine: Any, name: str, reason: str = "") -> StoreResult:
    """Undo a kill: put back the values kept under `killed.previous`."""
    what = f"flag {name}"
    refusal = _refusal(engine, what)
    if refusal:
        return StoreResult(False, refusal)
    target = f"flag/{name}"
    try:
        before, version = await engine.store.get_flag_raw(name)
        after = restored_config(before) if before is not None else None
        if after is None:
            return StoreResult(False, f"Flag {name} was not killed by Shiftroom, so there is nothing to restore.")
        new_version = await engine.store.put_flag_raw(name, after, version)
    except Conflict:
        return StoreResult(False, f"Flag {name} changed while it was being restored; look at it and try again.",
                           conflict=True)
    except BackendError as err:
        return await _refused(engine, target, "flag-restore", err)
    await _audit(engine, target, "flag-restore", reason, before, after)
    await _republish(engine)
    return StoreResult(True, f"Flag {name} restored: {describe_changes(before, after)}.", current=after,
                       version=new_version)


# ---------------------------------------------------------------- experiments


async def set_experiment_status(engine: Any, exp_id: str, status: str, reason: str = "") -> StoreResult:
    """Set an experiment's `status` (the seed assigns new users only while it is "active")."""
    what = f"experiment {exp_id}"
    refusal = _refusal(engine, what)
    if refusal:
        return StoreResult(False, refusal)
    if status not in STATUSES:
        return StoreResult(False, f"Status must be one of {', '.join(STATUSES)}, not {status!r}.")
    get = getattr(engine.store, "get_experiment_raw", None)
    put = getattr(engine.store, "put_experiment_raw", None)
    if get is None or put is None:
        return StoreResult(False, f"This store cannot change experiments, so {what} was not changed.")
    target = f"experiment/{exp_id}"
    for _ in range(ATTEMPTS):
        try:
            before, version = await get(exp_id)
            if before is None:
                return StoreResult(False, f"Experiment {exp_id} does not exist.")
            if before.get("status") == status:
                return StoreResult(True, f"Experiment {exp_id} is already {status}.", current=before, version=version)
            after = {**before, "status": status}
            new_version = await put(exp_id, after, version)
        except Conflict:
            continue
        except BackendError as err:
            return await _refused(engine, target, "experiment-status", err)
        await _audit(engine, target, "experiment-status", reason, before, after)
        await _republish(engine)
        return StoreResult(True, f"Experiment {exp_id}: status {before.get('status', 'absent')} → {status}.",
                           current=after, version=new_version)
    return StoreResult(False, f"Experiment {exp_id} kept changing; try again.", conflict=True)
