"""The API's /metrics exposition, parsed with prometheus-client's own parser."""

from __future__ import annotations

from fnmatch import fnmatchcase

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


def label_names(family) -> set[str]:
    return {key for sample in family.samples for key in sample.labels if key != "le"}


def matching(found: dict, patterns: list[str], kind: str) -> list[str]:
    """Families of this type whose name matches any of the patterns (fnmatch: db_pool_*, *_pool_*)."""
    return sorted(name for name, family in found.items()
                  if family.type == kind and any(fnmatchcase(name, pattern) for pattern in patterns))
