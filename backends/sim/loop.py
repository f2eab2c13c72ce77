"""Release rounds that never end: the `loop:` section of a scenario.

A wall monitor or a long demo must never idle. With `loop:` the simulated
world ships a new image tag to each of its targets every `every` seconds
(the targets staggered by `stagger`), round after round. A seeded share of the
releases (`bad_share`) is bad: `bad_after` seconds after the new version first
serves traffic its success rate and latency ramp to `bad_success_rate` and
`bad_p99_ms`, so the analysis rolls it back (or the blue-green stabilisation
switches back); the others are healthy and get promoted.

Tags count up from the starting image: `api:1.4.0` is followed by `api:1.5.0`,
`api:1.6.0`, ...; a tag that is not `X.Y.Z` is followed by `2.1.0`, `2.2.0`, ...
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from backends.sim.behaviour import Behaviour, Ramp

if TYPE_CHECKING:
    from backends.sim.world import SimWorld

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class Loop(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    every: float = Field(420.0, gt=0)  # seconds between two releases of one target
    first: float = Field(20.0, ge=0)  # the first release, seconds after the start
    stagger: float = Field(45.0, ge=0)  # the next target's rounds start this much later
    bad_share: float = Field(0.35, ge=0, le=1)
    bad_after: float = Field(45.0, ge=0)
    bad_success_rate: float = Field(91.0, ge=0, le=100)
    bad_p99_ms: float = Field(420.0, gt=0)
    targets: tuple[str, ...] = ()  # empty: every target of the world


def next_tag(image: str, round_no: int) -> str:
    """The image a round ships: the starting tag's minor version plus `round_no`."""
    repo, _, tag = image.rpartition(":")
    if not repo:
        repo, tag = image, ""
    m = _SEMVER.match(tag)
    if m:
        major, minor = int(m.group(1)), int(m.group(2))
        return f"{repo}:{major}.{minor + round_no}.0"
    return f"{repo}:2.{round_no}.0"


class Looper:
    """Plays the rounds against `world`, one simulated second at a time (called from `SimWorld.tick`)."""

    def __init__(self, world: SimWorld, loop: Loop) -> None:
        self.world = world
        self.loop = loop
        self.rng = random.Random(world.seed * 7919 + 17)
        self.rounds: dict[str, int] = {}  # target name -> releases shipped
        self.shipped: list[tuple[float, str, str, bool]] = []  # (t, target, image, bad)
        self._base: dict[str, str] = {}

    def names(self) -> list[str]:
        return list(self.loop.targets) or [t.name for t in self.world.targets]

    def step(self, t: float) -> None:
        elapsed = t - self.world.start
        for i, name in enumerate(self.names()):
            done = self.rounds.get(name, 0)
            due = self.loop.first + i * self.loop.stagger + done * self.loop.every
            if elapsed + 1e-9 >= due:
                self._release(t, name, done + 1)

    def _release(self, t: float, name: str, round_no: int) -> None:
        from backends.sim.build import starting_image
        from backends.sim.scenario import Event, Release

        world = self.world
        target = world.target(name)
        base = self._base.setdefault(name, starting_image(world.scenario, target))
        image = next_tag(base, round_no)
        bad = self.rng.random() < self.loop.bad_share
        healthy = world.behaviour(base)
        if bad:
            ramp = Ramp(
                start_after=self.loop.bad_after,
                over=30.0,
                success_rate=self.loop.bad_success_rate,
                p99_ms=max(self.loop.bad_p99_ms, healthy.p50_ms),
            )
            world.behaviours[image] = healthy.model_copy(update={"ramp": ramp})
        else:
            world.behaviours[image] = Behaviour.model_validate(healthy.model_dump())
        self.rounds[name] = round_no
        self.shipped.append((t, name, image, bad))
        world.director.apply(Event(at=t - world.start, release=Release(target=name, image=image)))
