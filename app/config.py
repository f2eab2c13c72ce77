"""`shiftroom.yaml`: pydantic models, file discovery and environment overrides.

Precedence, highest first: command-line flags, environment variables
(`SHIFTROOM_PROMETHEUS_URL`, `SHIFTROOM_REDIS_URL`, `SHIFTROOM_THEME`), the
config file, defaults. The file is `--config FILE`, else `$SHIFTROOM_CONFIG`,
else `./shiftroom.yaml`, else `$XDG_CONFIG_HOME/shiftroom/config.yaml`
(`~/.config/...`). `SHIFTROOM_CONFIG=""` means no file at all.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from app.config_file import config_path
from app.model import Target
from app.yamlfile import YamlFileError, compose, error_at, read_text, validate


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
        return check_http_url(url, "the Prometheus URL")


class RedisConfig(_Strict):
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_redis_url(url)


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


# ---------------------------------------------------------------- URLs: one check for the file, env and flags


def _parts(url: str, what: str, example: str) -> tuple[str, str, int | None, str]:
    """(scheme, host, port, path) of `url`; ValueError (a phrase) when it is not a usable URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        reason = "its port is not a number from 0 to 65535" if "port" in str(exc).lower() else str(exc).lower()
        raise ValueError(f"{what} {url!r} is not a valid URL ({reason}); use {example}") from None
    return parts.scheme.lower(), parts.hostname or "", port, parts.path


def check_http_url(url: str, what: str) -> str:
    """`url` when it is an http(s) URL with a host and a valid port; ValueError with a phrase otherwise."""
    example = "http://host:9090"
    scheme, host, _port, _path = _parts(url, what, example)
    if scheme not in ("http", "https"):
        raise ValueError(f"{what} must start with http:// or https://, not {url!r}")
    if not host:
        raise ValueError(f"{what} {url!r} has no host; use {example}")
    return url


def check_redis_url(url: str) -> str:
    """`url` when redis-py can use it as written (scheme, host, port, a numeric /db); ValueError otherwise."""
    what, example = "the Redis URL", "redis://host:6379/0"
    scheme, host, _port, path = _parts(url, what, example)
    if scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"{what} must start with redis://, rediss:// or unix://, not {url!r}")
    if scheme == "unix":
        if not path:
            raise ValueError(f"{what} {url!r} names no socket path; use unix:///path/to/redis.sock")
        return url
    if not host:
        raise ValueError(f"{what} {url!r} has no host; use {example}")
    db = path.strip("/")
    if db and not (db.isascii() and db.isdigit()):
        raise ValueError(f"{what} {url!r} names database {db!r}, which is not a number; use {example}")
    return url


class AuditConfig(_Strict):
    """`audit.key_file`: a file holding the secret every audit entry is signed with (HMAC-SHA256, chained)."""

    key_file: str | None = None


class Config(_Strict):
    theme: str = "dark"
    read_only: bool = False
    prometheus: PrometheusConfig | None = None
    redis: RedisConfig | None = None
    notify: NotifyConfig = NotifyConfig()
    audit: AuditConfig = AuditConfig()
    keymap: dict[str, str] = Field(default_factory=dict)  # binding id -> keys, e.g. {"step": "s,ctrl+s"}
    targets: list[TargetEntry] = Field(default_factory=list)  # what the room drives on a real cluster
    production_contexts: list[str] = Field(default_factory=list)  # kubeconfig context names or globs
    source: str = Field("", exclude=True)


def load_config(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    path = config_path(explicit, env)
    data: dict[str, Any] = {}
    if path is not None:
        text = read_text(path, "config file", ConfigError)
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
        err = exc.errors(include_url=False)[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        var = "SHIFTROOM_REDIS_URL" if "Redis" in msg else "SHIFTROOM_PROMETHEUS_URL"
        raise ConfigError(f"environment: {msg} (from {var}).") from None
    if env.get("SHIFTROOM_THEME"):
        update["theme"] = env["SHIFTROOM_THEME"]
    return config.model_copy(update=update) if update else config


# ---------------------------------------------------------------- names only the room knows

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
KEY_NAMES = frozenset(
    "escape enter return tab space backspace delete insert home end pageup pagedown up down left right".split()
    + [f"f{n}" for n in range(1, 25)]
)


def key_problem(key: str) -> str:
    """Why `key` (one entry of a keymap value, e.g. `ctrl+s`) cannot be pressed; "" when it can."""
    if not key:
        return "an empty key"
    *mods, base = key.split("+") if key != "+" else [key]
    bad = [m for m in mods if m not in MODIFIERS]
    if bad:
        return f"{key!r} has an unknown modifier {bad[0]!r} (use ctrl, shift, alt, meta)"
    if len(base) == 1:
        return "" if base.isprintable() and not base.isspace() else f"{key!r} is not a printable key"
    if base in KEY_NAMES:
        return ""
    try:
        unicodedata.lookup(base.replace("_", " "))  # Textual's names for characters: question_mark, slash...
    except KeyError:
        return f"{key!r} is not a key Textual knows (e.g. s, ctrl+s, f5, question_mark)"
    return ""


def check_names(config: Config, themes: Iterable[str], binding_ids: Iterable[str]) -> None:
    """Raise ConfigError (file:line) for a theme or keymap entry the room does not have."""
    themes, ids = sorted(themes), set(binding_ids)
    if config.theme not in themes:
        raise _config_error(
            config, ("theme",), f"there is no theme {config.theme!r}; choose one of {', '.join(themes)}"
        )
    for binding_id, keys in config.keymap.items():
        if binding_id not in ids:
            raise _config_error(
                config,
                ("keymap", binding_id),
                f"there is no key binding with id {binding_id!r}; `?` in the room lists the ids",
            )
        for key in [k.strip() for k in keys.split(",")]:
            problem = key_problem(key)
            if problem:
                raise _config_error(config, ("keymap", binding_id), problem)


def _config_error(config: Config, loc: tuple[Any, ...], msg: str) -> ConfigError:
    if not config.source:
        return ConfigError(f"environment: {msg}.")
    root, _ = compose(
        read_text(Path(config.source), "config file", ConfigError), config.source, "a config file", ConfigError
    )
    err = error_at(root, config.source, loc, msg, error=ConfigError)
    assert isinstance(err, ConfigError)
    return err
