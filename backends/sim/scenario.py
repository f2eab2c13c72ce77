"""Scenario files: what the simulated world looks like and what happens in it.

A scenario is a YAML file (see `scenarios/*.yaml` for commented examples):

    name, description, seed, duration   # duration: upper bound for headless runs, seconds
    rps:       {<target name>: requests per second}   # a canary's Route or a blue-green Service
    targets:   [<app.model.Target>, ...]              # omitted: the seed's two targets
    images:    {<target name>: starting image}        # omitted: the seed's images
    behaviour: {<image or glob>: <Behaviour>}         # how each version behaves
    events:    [{at: <s> | when: {...}, <one action>}]

`loop: {every, first, stagger, bad_share, ...}` keeps releasing new tags for ever (see `loop.py`).

Actions: `release: {target, image}`, `behaviour: {image, ...fields to change}`,
`metrics: down|up`, `cluster: down|up`, `note: "text"`.

`load_scenario` raises `ScenarioError`, whose message is one sentence naming
the file, the line and the field.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.model import Target
from app.yamlfile import YamlFileError, compose, error_at, read_text, validate
from backends.sim.behaviour import Behaviour, Ramp
from backends.sim.loop import Loop

ACTIONS = ("release", "behaviour", "metrics", "cluster", "note")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: Requests per second: a finite number, 0 or more (`.nan`, `.inf` and negatives are refused).
Rate = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Release(_Strict):
    """Ship `image`: canary targets get it on their deployment, blue-green ones on their Service's
    `shiftroom.io/desired-image` annotation, where the blue-green controller picks it up."""

    target: str
    image: str = Field(min_length=1)


class BehaviourChange(_Strict):
    """Change some fields of an image's behaviour from this moment on."""

    image: str = Field(min_length=1)
    success_rate: float | None = Field(None, ge=0, le=100)
    error_code: int | None = Field(None, ge=500, le=599)
    p50_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    ready_after: float | None = Field(None, ge=0)
    health_failures: int | None = Field(None, ge=0)
    ramp: Ramp | None = None

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self if k != "image" and v is not None}


class Condition(_Strict):
    """Fires the first second at which every condition given holds."""

    target: str
    canary_weight_at_least: int | None = Field(None, ge=0, le=100)
    active_color: str | None = None  # blue-green: the colour the Service selects
    after: float | None = Field(None, ge=0)  # and not before this many seconds

    @model_validator(mode="after")
    def _something(self) -> Condition:
        if self.canary_weight_at_least is None and self.active_color is None:
            raise ValueError("a `when` needs canary_weight_at_least or active_color")
        return self


class Event(_Strict):
    at: float | None = Field(None, ge=0)
    when: Condition | None = None
    release: Release | None = None
    behaviour: BehaviourChange | None = None
    metrics: Literal["down", "up"] | None = None
    cluster: Literal["down", "up"] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _one_trigger_one_action(self) -> Event:
        if (self.at is None) == (self.when is None):
            raise ValueError("an event needs exactly one of `at` (seconds) or `when` (a condition)")
        given = [a for a in ACTIONS if getattr(self, a) is not None]
        if len(given) != 1:
            raise ValueError(f"an event needs exactly one action of {', '.join(ACTIONS)}; got {len(given)}")
        return self

    @property
    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a) is not None)


class Scenario(_Strict):
    name: str = "default"
    description: str = ""
    seed: int = 1
    duration: float = Field(600.0, gt=0)
    rps: dict[str, Rate] = Field(default_factory=dict)
    targets: tuple[Target, ...] | None = None
    images: dict[str, str] = Field(default_factory=dict)
    behaviour: dict[str, Behaviour] = Field(default_factory=dict)
    events: tuple[Event, ...] = ()
    loop: Loop | None = None  # release rounds that never end (see backends/sim/loop.py)
    source: str = Field("", exclude=True)  # the file it came from

    @model_validator(mode="after")
    def _names_exist(self) -> Scenario:
        if self.targets is not None:
            names = [t.name for t in self.targets]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"target names must be unique; repeated: {', '.join(dupes)}")
        return self


# ---------------------------------------------------------------- loading


class ScenarioError(YamlFileError):
    """A scenario that cannot be used; `str()` is one sentence with file, line and field."""


def _builtin_dir() -> Traversable:
    return resources.files("backends.sim").joinpath("scenarios")


def list_scenarios() -> list[tuple[str, str]]:
    """Built-in scenarios as (name, description), sorted by name."""
    out = []
    for entry in sorted(_builtin_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            try:
                data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError:
                data = {}
            desc = data.get("description", "") if isinstance(data, dict) else ""
            out.append((entry.name[: -len(".yaml")], " ".join(str(desc).split())))
    return out


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a scenario file by path."""
    text, source = _read(str(name_or_path))
    return parse_scenario(text, source)


def _read(name_or_path: str) -> tuple[str, str]:
    path = Path(name_or_path).expanduser()
    looks_like_path = path.suffix in (".yaml", ".yml") or "/" in name_or_path or path.exists()
    if looks_like_path:
        return read_text(path, "scenario file", ScenarioError, article=""), str(path)
    entry = _builtin_dir().joinpath(f"{name_or_path}.yaml")
    if not entry.is_file():
        known = ", ".join(n for n, _ in list_scenarios())
        raise ScenarioError(f"There is no scenario named '{name_or_path}'; the built-in ones are: {known}.")
    return entry.read_text(encoding="utf-8"), f"{name_or_path}.yaml"


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    root, data = compose(text, source, "a scenario", ScenarioError)
    scenario = validate(Scenario, {**data, "source": source}, root, source, ScenarioError)
    for loc, name in _target_refs(scenario):
        known = _target_names(scenario)
        if name not in known:
            raise error_at(
                root,
                source,
                loc,
                f"there is no target named '{name}' (targets: {', '.join(known)})",
                error=ScenarioError,
            )
    return scenario


def _target_names(scenario: Scenario) -> list[str]:
    from backends.sim.defaults import DEFAULT_TARGETS

    return [t.name for t in (scenario.targets if scenario.targets is not None else DEFAULT_TARGETS)]


def _target_refs(scenario: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Every place the scenario names a target: (pydantic-style location, name)."""
    refs: list[tuple[tuple[Any, ...], str]] = [(("rps", k), k) for k in scenario.rps]
    refs += [(("images", k), k) for k in scenario.images]
    if scenario.loop is not None:
        refs += [(("loop", "targets", i), name) for i, name in enumerate(scenario.loop.targets)]
    for i, ev in enumerate(scenario.events):
        if ev.release is not None:
            refs.append((("events", i, "release", "target"), ev.release.target))
        if ev.when is not None:
            refs.append((("events", i, "when", "target"), ev.when.target))
    return refs
