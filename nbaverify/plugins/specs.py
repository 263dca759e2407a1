"""Each check's declaration validated and evaluated once, first of all, into its catalogue entry
(`CheckSpec`, kept on the item): selection, the run record and the listings read that entry, never
the markers again.
"""

from __future__ import annotations

import pytest

from nbaverify.catalogue import COLLECTED, SPEC, is_check, problem, spec_of


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    checks = [item for item in items if is_check(item)]
    problems = [
        f"{item.path}::{getattr(item, 'originalname', item.name)}: {why}"
        for item in checks
        if (why := problem(item))
    ]
    if problems:
        raise pytest.UsageError(
            "check declared without its metadata: " + "; ".join(dict.fromkeys(problems))
        )
    for item in checks:
        item.stash[SPEC] = spec_of(item)
    # before a tier deselects any: the coverage
    config.stash[COLLECTED] = [item.stash[SPEC] for item in checks]
