"""What the checks ask of the API's /metrics families (parsed by nbaverify.exposition): their
labels, and which families match a set of name patterns."""

from __future__ import annotations

from fnmatch import fnmatchcase


def label_names(family) -> set[str]:
    return {key for sample in family.samples for key in sample.labels if key != "le"}


def matching(found: dict, patterns: list[str], kind: str) -> list[str]:
    """Families of this type whose name matches any of the patterns (fnmatch: db_pool_*,
    *_pool_*)."""
    return sorted(
        name
        for name, family in found.items()
        if family.type == kind and any(fnmatchcase(name, pattern) for pattern in patterns)
    )
