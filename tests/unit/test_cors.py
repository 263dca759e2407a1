"""What a response's CORS headers grant an origin nobody lists."""

from __future__ import annotations

import pytest

from nbaverify.probes.http import cors_problem

UNTRUSTED = "https://nbaverify-untrusted.example"


@pytest.mark.parametrize(
    ("headers", "allowed", "problem"),
    [
        ({}, [], None),  # no CORS at all: browsers refuse every cross-origin read
        (
            {"access-control-allow-origin": "https://stats.example.com"},
            ["https://stats.example.com"],
            None,
        ),
        ({"access-control-allow-origin": "*"}, ["*"], None),
        (
            {"access-control-allow-origin": UNTRUSTED},
            [],
            f"reflects the untrusted Origin {UNTRUSTED} as allowed",
        ),
        (
            {"access-control-allow-origin": UNTRUSTED, "access-control-allow-credentials": "true"},
            [],
            "as allowed with Access-Control-Allow-Credentials: true",
        ),
        (
            {"access-control-allow-origin": "*"},
            [],
            "allows every origin (Access-Control-Allow-Origin: *)",
        ),
        (
            {"access-control-allow-origin": "*", "access-control-allow-credentials": "true"},
            ["*"],
            (
                "allows every origin (Access-Control-Allow-Origin: *) with"
                " Access-Control-Allow-Credentials: true"
            ),
        ),
    ],
)
def test_only_what_nobody_listed_is_a_problem(headers, allowed, problem):
    found = cors_problem(headers, UNTRUSTED, allowed)
    assert (found is None) if problem is None else (found is not None and problem in found), found
