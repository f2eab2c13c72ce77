"""The wall's scenarios: `loop` keeps releasing round after round, `fleet` has fifty rollouts."""

from __future__ import annotations

from collections import Counter

from app.clock import VirtualClock
from app.model import Strategy
from backends.sim.build import build_world
from backends.sim.loop import next_tag
from backends.sim.scenario import ScenarioError, load_scenario, parse_scenario


def test_tags_count_up_from_the_starting_image() -> None:
    assert next_tag("microservices/api:1.4.0", 1) == "microservices/api:1.5.0"
    assert next_tag("microservices/api:1.4.0", 3) == "microservices/api:1.7.0"
    assert next_tag("microservices/frontend:stable", 2) == "microservices/frontend:2.2.0"
    assert next_tag("localhost:5000/web:1.0.0", 1) == "localhost:5000/web:1.1.0"


async def test_loop_ships_good_and_bad_releases_round_after_round() -> None:
    clock = VirtualClock()
    world = build_world("loop", clock)
    assert world.looper is not None
    for _ in range(3600):
        await clock.advance(1.0)
        world.sync()
    shipped = world.looper.shipped
    by_target = Counter(name for _, name, _, _ in shipped)
    assert by_target["microservices-canary"] >= 8 and by_target["frontend"] >= 8
    assert {bad for *_, bad in shipped} == {True, False}
    images = [image for _, name, image, _ in shipped if name == "microservices-canary"]
    assert images[:3] == ["microservices/api:1.5.0", "microservices/api:1.6.0", "microservices/api:1.7.0"]
    assert world.deployment("microservices", "microservices").image == images[-1]


def test_a_loop_naming_an_unknown_target_is_one_sentence() -> None:
    try:
        parse_scenario("name: x\nloop:\n  targets: [nope]\n", "x.yaml")
    except ScenarioError as err:
        assert "x.yaml" in str(err) and "no target named 'nope'" in str(err)
    else:
        raise AssertionError("accepted a loop over an unknown target")


def test_fleet_has_fifty_rollouts_in_five_namespaces() -> None:
    scenario = load_scenario("fleet")
    assert scenario.targets is not None and len(scenario.targets) == 50
    assert len({t.namespace for t in scenario.targets}) == 5
    kinds = Counter(t.strategy for t in scenario.targets)
    assert kinds == {Strategy.CANARY: 30, Strategy.BLUE_GREEN: 20}
    assert all(len(t.analysis.metrics) == 3 for t in scenario.targets if t.strategy is Strategy.CANARY)
    assert scenario.loop is not None
