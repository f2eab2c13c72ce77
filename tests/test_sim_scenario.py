"""Scenario files: every built-in one loads and plays; bad ones fail in one sentence with file:line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.clock import VirtualClock
from app.model import Strategy
from backends.sim import ScenarioError, build_world, list_scenarios, load_scenario

SHIPPED = {"healthy-canary", "bad-canary", "latency-regression", "blue-green", "metrics-outage"}


def test_the_shipped_scenarios_are_listed() -> None:
    assert SHIPPED <= {name for name, _ in list_scenarios()}


# One test per scenario (each plays its whole duration, several seconds for the biggest): parallel workers share them.
@pytest.mark.parametrize("name", [name for name, _ in list_scenarios()])
def test_every_built_in_scenario_loads_and_runs_its_whole_duration(name: str) -> None:
    description = dict(list_scenarios())[name]
    scenario = load_scenario(name)
    assert scenario.name == name and description and scenario.events
    clock = VirtualClock()
    world = build_world(scenario, clock)
    world.tick(clock.now() + scenario.duration)
    assert not world.director.pending or all(e.when for e in world.director.pending), name
    assert not [e for e in world.events if e.reason == "ScenarioFailed"], name


def test_release_sets_the_image_or_the_desired_image_annotation() -> None:
    clock = VirtualClock()
    world = build_world("healthy-canary", clock)
    world.tick(clock.now() + 19)
    assert world.deployments[("microservices", "microservices")].image == "microservices/api:1.4.0"
    world.tick(clock.now() + 20)
    assert world.deployments[("microservices", "microservices")].image == "microservices/api:1.5.0"
    assert world.deployments[("microservices", "microservices-primary")].image == "microservices/api:1.4.0"
    world = build_world("blue-green", VirtualClock())
    world.tick(world.clock.now() + 20)
    svc = world.services[("microservices", "microservices")]
    assert svc.annotations == {"shiftroom.io/desired-image": "microservices/frontend:2.0.0"}
    assert world.deployments[("microservices", "microservices-green")].image == "microservices/frontend:stable"


def test_a_scenario_file_by_path_with_its_own_targets(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\n"
        "seed: 3\n"
        "targets:\n"
        "  - {name: shop, namespace: web, strategy: canary, deployment: shop, replicas: 2}\n"
        "images: {shop: 'web/shop:1'}\n"
        "rps: {shop: 10}\n"
        "events:\n"
        "  - at: 5\n"
        "    cluster: down\n"
        "  - at: 9\n"
        "    cluster: up\n"
    )
    scenario = load_scenario(str(path))
    assert scenario.source == str(path)
    world = build_world(scenario, VirtualClock())
    assert [t.name for t in world.targets] == ["shop"] and world.targets[0].strategy is Strategy.CANARY
    assert world.deployments[("web", "shop-primary")].image == "web/shop:1"
    assert world.routes[("web", "shop")].weights == {"shop-primary": 100, "shop": 0}
    world.tick(world.clock.now() + 6)
    assert world.cluster_down
    world.tick(world.clock.now() + 10)
    assert not world.cluster_down


def _error(tmp_path: Path, text: str) -> ScenarioError:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(str(path))
    message = str(err.value)
    assert message.startswith(f"{path}:") and message.endswith(".")
    assert "\n" not in message
    return err.value


GOOD_HEAD = "name: x\nseed: 1\nrps:\n  frontend: 10\n"


def test_error_names_file_line_and_field_for_a_wrong_type(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD_HEAD + "events:\n  - at: 5\n    note: hi\n  - at: soon\n    note: later\n")
    assert err.line == 8 and err.field == "events[1].at"
    assert "bad.yaml:8: field 'events[1].at'" in str(err)


def test_error_for_a_missing_field_points_at_its_parent(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD_HEAD + "events:\n  - at: 5\n    release:\n      target: frontend\n")
    assert err.field == "events[0].release.image" and err.line == 7


def test_error_for_an_unknown_field(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD_HEAD + "behaviour:\n  'a/b:1':\n    p50_ms: 10\n    p99: 100\n")
    assert err.field == "behaviour.a/b:1.p99" and err.line == 8


def test_error_for_a_rule_across_fields(tmp_path: Path) -> None:
    err = _error(tmp_path, GOOD_HEAD + "events:\n  - at: 5\n    metrics: down\n    cluster: down\n")
    assert err.field == "events[0]" and err.line == 6 and "exactly one action" in str(err)
    err = _error(tmp_path, GOOD_HEAD + "behaviour:\n  x:\n    p50_ms: 100\n    p99_ms: 10\n")
    assert err.field == "behaviour.x" and err.line == 6


def test_error_for_an_unknown_target(tmp_path: Path) -> None:
    events = "events:\n  - when: {target: checkout, canary_weight_at_least: 30}\n    note: x\n"
    err = _error(tmp_path, GOOD_HEAD + events)
    assert err.field == "events[0].when.target" and err.line == 6
    assert "checkout" in str(err) and "microservices-canary" in str(err)
    err = _error(tmp_path, "rps:\n  frontend: 1\n  nope: 2\n")
    assert err.field == "rps.nope" and err.line == 3


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    err = _error(tmp_path, "name: x\nevents:\n  - at: 5\n   note: [unclosed\n")
    assert err.line in (3, 4) and "YAML" in str(err)
    err = _error(tmp_path, "- just\n- a list\n")
    assert err.line == 1


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario("no-such-scenario")
    message = str(err.value)
    assert "no-such-scenario" in message and all(name in message for name in SHIPPED)
    assert message.count(".") == 1 and message.endswith(".")


def test_missing_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="Cannot read scenario file"):
        load_scenario(str(tmp_path / "absent.yaml"))
