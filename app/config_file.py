"""Where `shiftroom.yaml` is, without reading it: `--config FILE`, else `$SHIFTROOM_CONFIG`, else
`./shiftroom.yaml`, else `$XDG_CONFIG_HOME/shiftroom/config.yaml` (`~/.config/...`).
`SHIFTROOM_CONFIG=""` means no file at all.

Apart from app.config (its models, and pydantic) so that `shiftroom demo` can tell, before its
first frame, that there is nothing to read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

#: Environment variables that change the config (app.config applies them over the file).
OVERRIDES = ("SHIFTROOM_PROMETHEUS_URL", "SHIFTROOM_REDIS_URL", "SHIFTROOM_THEME")


def config_path(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    if explicit:
        return Path(explicit).expanduser()
    if "SHIFTROOM_CONFIG" in env:
        return Path(env["SHIFTROOM_CONFIG"]).expanduser() if env["SHIFTROOM_CONFIG"] else None
    local = Path("shiftroom.yaml")
    if local.is_file():
        return local
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = base / "shiftroom" / "config.yaml"
    return user if user.is_file() else None
