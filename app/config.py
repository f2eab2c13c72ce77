"""`shiftroom.yaml`: pydantic models, file discovery and environment overrides.

Precedence, highest first: command-line flags, environment variables
(`SHIFTROOM_PROMETHEUS_URL`, `SHIFTROOM_REDIS_URL`, `SHIFTROOM_THEME`), the
config file, defaults. The file is `--config FILE`, else `$SHIFTROOM_CONFIG`,
else `./shiftroom.yaml`, else `$XDG_CONFIG_HOME/shiftroom/config.yaml`
(`~/.config/...`). `SHIFTROOM_CONFIG=""` means no file at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from app.model import Target
from app.yamlfile import YamlFileError, compose, validate


class ConfigError(YamlFileError):
    """A config that cannot be used; one sentence with file, line and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrometheusConfig(_Strict):
    url: str
    timeout: float = Field(5.0, gt=0)
    retries: int = Field(2, ge=0, le=10)
    provider: Literal["istio", "nginx", "linkerd"] = "istio"
    username: str | None = None
    password_env: str | None = None  # name of the variable holding the password, never the password
    bearer_token_file: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    templates: dict[str, str] = Field(default_factory=dict)  # name -> PromQL with {{ namespace }} etc.

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the Prometheus URL must start with http:// or https://, not {url!r}")
        return url


class RedisConfig(_Strict):
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("the Redis URL must start with redis://, rediss:// or unix://")
        return url


class NotifyConfig(_Strict):
    """Who hears about rollbacks, switch-backs and undos (the audit log always does)."""

    slack_webhook_url: str | None = None
    webhook_url: str | None = None  # receives the audit event as JSON
    timeout: float = Field(5.0, gt=0)


class CanaryTarget(_Strict):
    """A Flagger `Canary` manifest as a target, as it is: a file (relative to the config) or inline."""

    canary_file: str | None = None
    canary: dict[str, Any] | None = None
    namespace: str | None = None  # overrides the Canary's metadata.namespace
    production: bool = False


def _target_kind(value: Any) -> str:
    return "canary" if isinstance(value, dict) and ("canary_file" in value or "canary" in value) else "target"


TargetEntry = Annotated[
    Annotated[Target, Tag("target")] | Annotated[CanaryTarget, Tag("canary")], Discriminator(_target_kind)
]


class Config(_Strict):
    theme: str = "dark"
    read_only: bool = False
    prometheus: PrometheusConfig | None = None
    redis: RedisConfig | None = None
    notify: NotifyConfig = NotifyConfig()
    keymap: dict[str, str] = Field(default_factory=dict)  # binding id -> keys, e.g. {"step": "s,ctrl+s"}
    targets: list[TargetEntry] = Field(default_factory=list)  # what the room drives on a real cluster
    production_contexts: list[str] = Field(default_factory=list)  # kubeconfig context names or globs
    source: str = Field("", exclude=True)


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


def load_config(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    path = config_path(explicit, env)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read the config file {path}: {(exc.strerror or str(exc)).lower()}.",
                              str(path)) from None
        root, data = compose(text, str(path), "a config file", ConfigError)
        config = validate(Config, {**data, "source": str(path)}, root, str(path), ConfigError)
    else:
        config = Config()
    return _with_env(config, env)


def _with_env(config: Config, env: Mapping[str, str]) -> Config:
    update: dict[str, Any] = {}
    try:
        if env.get("SHIFTROOM_PROMETHEUS_URL"):
            base = config.prometheus.model_dump() if config.prometheus else {}
            update["prometheus"] = PrometheusConfig(**{**base, "url": env["SHIFTROOM_PROMETHEUS_URL"]})
        if env.get("SHIFTROOM_REDIS_URL"):
            update["redis"] = RedisConfig(url=env["SHIFTROOM_REDIS_URL"])
    except ValidationError as exc:
        msg = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"environment: {msg}.") from None
    if env.get("SHIFTROOM_THEME"):
        update["theme"] = env["SHIFTROOM_THEME"]
    return config.model_copy(update=update) if update else config
