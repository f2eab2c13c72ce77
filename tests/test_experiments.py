"""Seed-compatible assignment, parsing and import of experiments."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.experiments import (
    assign_variant,
    experiment_variant,
    import_experiments,
    parse_experiment,
)
from backends.sim.store import SEED_EXPERIMENTS, SEED_EXPERIMENTS_JSON


class SeedManager:
    """The seed's ABTestManager assignment path, verbatim, with a dict in place of Redis."""

    def __init__(self, configs: dict) -> None:
        self.configs = configs
        self.assignments: dict[str, str] = {}

    def get_experiment_variant(self, experiment_id: str, user_id: str):
        assignment_key = f"assignment:{experiment_id}:{user_id}"
        existing_assignment = self.assignments.get(assignment_key)
        if existing_assignment:
            return existing_assignment
        experiment = self.configs.get(experiment_id)
        if not experiment or experiment.get("status") != "active":
            return None
        variant = self._assign_variant(experiment, user_id)
        self.assignments[assignment_key] = variant
        return variant

    def _assign_variant(self, experiment, user_id: str) -> str:
        hash_input = f"{experiment['name']}:{user_id}"
        hash_value = int(hashlib.md5(hash_input.encode()).hexdigest(), 16)
        traffic_split = experiment["traffic_split"]
        cumulative = 0
        random_value = hash_value % 100
        for variant, percentage in traffic_split.items():
            cumulative += percentage
            if random_value < cumulative:
                return variant
        return "control"  # Fallback


USERS = [f"user-{i}" for i in range(3000)] + ["", "müller", "用户", "😀", "𝔘ser"]


@pytest.mark.parametrize("exp_id", list(SEED_EXPERIMENTS))
def test_assignment_equals_the_seed_for_every_user(exp_id: str) -> None:
    seed = SeedManager(SEED_EXPERIMENTS)
    config = SEED_EXPERIMENTS[exp_id]
    got = [assign_variant(config, u) for u in USERS]
    assert got == [seed._assign_variant(config, u) for u in USERS]
    assert set(got) == set(config["traffic_split"])
    model = parse_experiment(exp_id, config)
    assert [assign_variant(model, u) for u in USERS] == got


def test_quirky_splits_follow_the_seed() -> None:
    seed = SeedManager({})
    for split in ({"variant_a": 30, "control": 70}, {"a": 10, "b": 10}, {}, {"a": 12.5, "b": 87.5}, {"x": 0, "y": 100}):
        cfg = {"name": "Q", "traffic_split": split}
        assert [assign_variant(cfg, u) for u in USERS[:500]] == [seed._assign_variant(cfg, u) for u in USERS[:500]]
    assert assign_variant({"name": "Q", "traffic_split": {}}, "u") == "control"  # seed fallback
    with pytest.raises(ValueError, match="name"):
        assign_variant({"traffic_split": {"a": 100}}, "u")


def test_status_is_checked_only_by_experiment_variant() -> None:
    cfg = dict(SEED_EXPERIMENTS["checkout-flow-redesign"], status="paused")
    assert assign_variant(cfg, "user-1") in ("control", "variant_a")
    assert experiment_variant(cfg, "user-1") is None
    assert experiment_variant(cfg, "user-1", existing="variant_a") == "variant_a"  # sticky, like the seed
    seed = SeedManager({"c": SEED_EXPERIMENTS["checkout-flow-redesign"]})
    assert [experiment_variant(seed.configs["c"], u) for u in USERS[:300]] == [
        seed.get_experiment_variant("c", u) for u in USERS[:300]
    ]
    assert experiment_variant(None, "u") is None


def test_parse_experiment_reads_the_seed_config() -> None:
    e = parse_experiment(
        "product-page-layout",
        json.dumps(SEED_EXPERIMENTS["product-page-layout"]),
        {"control": (100, 10), "variant_b": (90, 12), "ghost": (3, 0)},
    )
    assert e.error == ""
    assert e.name == "Product Page Layout Test" and e.status == "active"
    assert e.primary_metric == "click_through_rate"
    assert e.traffic_split == {"control": 33, "variant_a": 33, "variant_b": 34}
    assert [(v.name, v.weight, v.users, v.converters) for v in e.variants] == [
        ("control", 33, 100, 10),
        ("variant_a", 33, 0, 0),
        ("variant_b", 34, 90, 12),
        ("ghost", 0, 3, 0),
    ]
    assert e.duration_days == 7 and e.min_sample_size == 500


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{oops", "not valid JSON"),
        ("[]", "not an object"),
        ('{"traffic_split": {"a": 100}}', "name"),
        ('{"name": "N", "traffic_split": {"a": "50"}}', "traffic_split"),
        ('{"name": "N", "traffic_split": {"a": 60}}', "adds up to 60"),
        (
            '{"name": "N", "traffic_split": {"a": 100}, "duration_days": "2w", "status": 3}',
            'status must be a string, not a number 3; duration_days must be a non-negative number, not "2w"',
        ),
    ],
)
def test_parse_experiment_never_raises(raw: str, fragment: str) -> None:
    e = parse_experiment("x", raw)
    assert fragment in e.error and e.error.endswith(".")


def test_import_reads_json_dict_and_configmap_yaml_in_order() -> None:
    pairs = import_experiments(SEED_EXPERIMENTS_JSON)
    assert [k for k, _ in pairs] == ["checkout-flow-redesign", "product-page-layout"]
    assert dict(pairs) == SEED_EXPERIMENTS
    indented = "\n".join("    " + line for line in SEED_EXPERIMENTS_JSON.splitlines())
    manifest = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ab-test-config\n  namespace: microservices\n"
        "data:\n  experiments.json: |\n" + indented + "\n"
    )
    assert import_experiments(manifest) == pairs
    assert import_experiments({"kind": "ConfigMap", "data": {"experiments.json": SEED_EXPERIMENTS_JSON}}) == pairs
    for bad in ("[1, 2]", '{"a": 1}', "key: [unclosed"):
        with pytest.raises(ValueError):
            import_experiments(bad)
