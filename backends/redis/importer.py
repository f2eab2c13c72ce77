"""`shiftroom experiments import`: the seed's ConfigMap (or experiments.json) into `experiment:<id>` keys."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from app.experiments import experiment_errors
from app.experiments import import_experiments as parse_import
from app.flag_json import validate_flag_name
from backends.base import Conflict, Invalid
from backends.redis.conn import Connection
from backends.redis.values import BACKEND, as_bytes, dump_json, load_object

ATTEMPTS = 5


def _valid_id(eid: str) -> None:
    try:
        validate_flag_name(eid)
    except ValueError as exc:
        raise Invalid(
            BACKEND, str(exc).replace("A flag name", "An experiment id").replace("feature:", "experiment:")
        ) from None


async def import_experiments(
    conn: Connection,
    key_of: Callable[[str], bytes],
    source: bytes | str | Mapping[str, Any],
    *,
    overwrite: bool = False,
) -> dict[str, str]:
    """Write every experiment of the file as `experiment:<id>`, all or nothing, in one MULTI.

    Refuses (Conflict, nothing written) when an existing experiment differs,
    unless `overwrite`. Returns id -> "created" | "unchanged" | "replaced".
    """
    try:
        pairs = parse_import(source)
    except (ValueError, RecursionError) as exc:
        raise Invalid(BACKEND, str(exc)) from None
    values: dict[str, bytes] = {}
    for eid, config in pairs:
        _valid_id(eid)
        errs = experiment_errors(config)
        if errs:
            raise Invalid(BACKEND, f"Experiment {eid} in the file: {errs[0]}.")
        values[eid] = dump_json(config, f"Experiment {eid}", compact=False)
    keys = [key_of(eid) for eid in values]

    async def body(pipe: Any) -> dict[str, str]:
        if keys:
            await pipe.watch(*keys)
        current = [as_bytes(v) for v in await pipe.mget(keys)] if keys else []
        status = _statuses(values, current, overwrite)
        pipe.multi()
        for (eid, value), key in zip(values.items(), keys, strict=False):
            if status[eid] != "unchanged":
                pipe.set(key, value)
        await pipe.execute()
        return status

    exhausted = Conflict(BACKEND, "The experiments kept changing during the import; nothing was imported, try again.")
    return await conn.transaction("importing experiments", body, exhausted, ATTEMPTS)


def _statuses(values: dict[str, bytes], current: list[bytes | None], overwrite: bool) -> dict[str, str]:
    status: dict[str, str] = {}
    clashes = []
    for (eid, value), raw in zip(values.items(), current, strict=False):
        if raw is None:
            status[eid] = "created"
        elif load_object(raw) == json.loads(value):
            status[eid] = "unchanged"
        else:
            status[eid] = "replaced"
            clashes.append(eid)
    if clashes and not overwrite:
        many = len(clashes) > 1
        raise Conflict(
            BACKEND,
            f"Experiment{'s' if many else ''} {', '.join(clashes)} already exist"
            f"{'' if many else 's'} with a different config; nothing was imported "
            "(use overwrite to replace).",
        )
    return status
