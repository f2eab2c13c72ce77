"""The seed's `services/analytics/ab_testing.py` (ABTestManager), verbatim but for the class name and types.

The reference the Redis tests and the experiment benchmark hold Shiftroom's
numbers against: what the seed itself would compute from the same data. Only
annotations (and an unused loop variable) differ from the seed; the logic is its own.
"""

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import redis


class SeedABTestManager:
    """The seed's services/analytics/ab_testing.py, verbatim but for the class name and types."""

    def __init__(self, redis_url: str):
        self.redis_client = redis.from_url(redis_url)

    def get_experiment_variant(self, experiment_id: str, user_id: str) -> str | None:
        assignment_key = f"assignment:{experiment_id}:{user_id}"
        existing_assignment = self.redis_client.get(assignment_key)
        if existing_assignment:
            # redis-py annotates get() as bytes | str; a client without decode_responses returns bytes.
            return existing_assignment.decode()  # type: ignore[union-attr]
        experiment = self._get_experiment_config(experiment_id)
        if not experiment or experiment.get("status") != "active":
            return None
        if not self._matches_targeting(experiment, user_id):
            return None
        variant = self._assign_variant(experiment, user_id)
        self.redis_client.setex(assignment_key, timedelta(days=30), variant)
        self._track_event(experiment_id, user_id, "assigned", {"variant": variant})
        return variant

    def track_conversion(self, experiment_id: str, user_id: str, metric: str, value: float = 1.0) -> None:
        variant = self.get_experiment_variant(experiment_id, user_id)
        if not variant:
            return
        self._track_event(experiment_id, user_id, "conversion", {"variant": variant, "metric": metric, "value": value})

    def get_experiment_results(self, experiment_id: str) -> dict[str, Any]:
        results: dict[str, Any] = {"experiment_id": experiment_id, "variants": {}, "summary": {}}
        events_key = f"events:{experiment_id}:*"
        event_keys = self.redis_client.keys(events_key)
        variant_stats: dict[str | None, dict[str, float]] = {}
        for key in event_keys:
            events = self.redis_client.lrange(key, 0, -1)
            for event_data in events:
                event = json.loads(event_data)
                variant = event.get("data", {}).get("variant")
                if variant not in variant_stats:
                    variant_stats[variant] = {"assignments": 0, "conversions": 0, "conversion_rate": 0}
                if event["event_type"] == "assigned":
                    variant_stats[variant]["assignments"] += 1
                elif event["event_type"] == "conversion":
                    variant_stats[variant]["conversions"] += 1
        for stats in variant_stats.values():
            if stats["assignments"] > 0:
                stats["conversion_rate"] = stats["conversions"] / stats["assignments"]
        results["variants"] = variant_stats
        return results

    def _get_experiment_config(self, experiment_id: str) -> dict[str, Any] | None:
        config_data = self.redis_client.get(f"experiment:{experiment_id}")
        if config_data:
            config: dict[str, Any] = json.loads(config_data)
            return config
        return None

    def _matches_targeting(self, experiment: dict[str, Any], user_id: str) -> bool:
        return True

    def _assign_variant(self, experiment: dict[str, Any], user_id: str) -> str:
        hash_input = f"{experiment['name']}:{user_id}"
        hash_value = int(hashlib.md5(hash_input.encode()).hexdigest(), 16)
        traffic_split: dict[str, int] = experiment["traffic_split"]
        cumulative = 0
        random_value = hash_value % 100
        for variant, percentage in traffic_split.items():
            cumulative += percentage
            if random_value < cumulative:
                return variant
        return "control"

    def _track_event(self, experiment_id: str, user_id: str, event_type: str, data: dict[str, Any]) -> None:
        event = {
            "timestamp": datetime.utcnow().isoformat(),
            "experiment_id": experiment_id,
            "user_id": user_id,
            "event_type": event_type,
            "data": data,
        }
        events_key = f"events:{experiment_id}:{user_id}"
        self.redis_client.lpush(events_key, json.dumps(event))
        self.redis_client.expire(events_key, timedelta(days=90))
