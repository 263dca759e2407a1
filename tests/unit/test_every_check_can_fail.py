"""A check that cannot fail is a defect, and so is a case of one: every case id the catalogue holds
(each parametrization, as a run names it) is failed by a fault of the catalogue (the matrix then
proves it fails there), or nbaverify.sandbox.faults.proof says where else it is shown failing, or
why not yet."""

from __future__ import annotations

import pytest

from nbaverify import catalogue
from nbaverify.sandbox.faults import CATALOGUE
from nbaverify.sandbox.faults.proof import NOT_YET, PROVEN_ELSEWHERE, names


@pytest.fixture(scope="module")
def case_ids() -> list[str]:
    return [entry.id for entry in catalogue.collect()]


def test_every_case_is_caught_by_a_fault_or_says_where_it_is_proven(case_ids):
    keys = (
        [c for fault in CATALOGUE.values() for c in fault.caught_by]
        + list(PROVEN_ELSEWHERE)
        + list(NOT_YET)
    )
    print(f"{len(case_ids)} case ids, each proven")
    unproven = [cid for cid in case_ids if not any(names(cid, key) for key in keys)]
    assert not unproven, "cases no fault fails and no test shows failing:\n" + "\n".join(unproven)


def test_every_fault_names_cases_that_exist(case_ids):
    named = {
        (fault.name, c)
        for fault in CATALOGUE.values()
        if fault.area != "load"
        for c in fault.caught_by
    }
    missing = sorted(
        f"{name}: {key}" for name, key in named if not any(names(cid, key) for cid in case_ids)
    )
    assert not missing, "faults name checks or cases the checks do not have:\n" + "\n".join(missing)


def test_the_tables_name_only_cases_that_exist_and_no_fault_catches(case_ids):
    caught = [c for fault in CATALOGUE.values() for c in fault.caught_by]
    for table in (PROVEN_ELSEWHERE, NOT_YET):
        for key in table:
            cases = [cid for cid in case_ids if names(cid, key)]
            assert cases, f"{key} names no case"
            assert not any(names(cid, c) for cid in cases for c in caught), (
                f"{key} is caught by a fault too"
            )
