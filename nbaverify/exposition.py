"""The Prometheus text exposition (what a /metrics endpoint serves), parsed with prometheus-client's
own parser: read by the Prometheus and Alertmanager clients (their own metrics) and by the checks of
the API's.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def families(text: str) -> dict:
    """Families by exposed name: a counter `x` is exposed as `x_total` (its samples' name)."""
    found = {}
    for family in text_string_to_metric_families(text):
        exposed = f"{family.name}_total" if family.type == "counter" else family.name
        found[exposed] = family
    return found


def counter_value(text: str, name: str) -> float:
    """The sum of a counter's samples (0 when absent), e.g. counter_value(text, "cache_hits")."""
    family = families(text).get(f"{name}_total")
    return sum(s.value for s in family.samples if s.name == f"{name}_total") if family else 0.0
