"""Against `environment = "production"` nothing but reads reaches the target, counted at the target.

The sandbox itself counts: the API's own http_requests_total (method, route, status) and
PostgreSQL's pg_stat_statements for the suite's role. The same run under a staging profile is
the control: there the rate-limit check does drive the API to 429, so the counters can see it.
"""

from __future__ import annotations

import re
import ssl
from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

READ_ONLY_STATEMENT = re.compile(r"^\s*(SELECT|WITH|EXPLAIN|SHOW|VALUES|TABLE)\b", re.IGNORECASE)
SUITE_ROLE = "nbaverify_monitor"


def api_requests(sandbox) -> Counter:
    """(method, route kind, status) -> requests, as the API itself counted them."""
    reply = httpx.get(
        f"{sandbox.api_url}/metrics",
        verify=ssl.create_default_context(cafile=sandbox.layout.ca_file),
        timeout=5,
    )
    counts: Counter = Counter()
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            if sample.name == "http_requests_total":
                route = sample.labels["route"]
                kind = "api" if route.startswith("/api/") else "other"
                counts[(sample.labels["method"], kind, sample.labels["status"])] += sample.value
    return counts


def suite_statements(sandbox) -> dict[str, int]:
    with sandbox.cluster.primary.admin() as conn:
        rows = conn.execute(
            "SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
            "WHERE r.rolname = %s",
            (SUITE_ROLE,),
        ).fetchall()
    return {query: calls for query, calls in rows}


def production_profile(sandbox, tmp_path, environment: str):
    text = sandbox.layout.target_file.read_text()
    text = re.sub(
        r'^environment = ".*"$', f'environment = "{environment}"', text, count=1, flags=re.MULTILINE
    )
    text = re.sub(
        r'^name = ".*"$', f'name = "sandbox-as-{environment}"', text, count=1, flags=re.MULTILINE
    )
    path = tmp_path / f"{environment}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_a_production_profile_receives_only_reads(sandbox, nbaverify, tmp_path, environment):
    sandbox.up([])
    sandbox.fresh_rate_window()
    with sandbox.cluster.primary.admin() as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
    before = api_requests(sandbox)
    result = nbaverify(
        "check",
        "all",
        "--target",
        str(production_profile(sandbox, tmp_path, environment)),
        env=sandbox.environ(),
    )
    assert result.summary is not None, result.err
    sent = api_requests(sandbox) - before
    statements = suite_statements(sandbox)
    writes = {q: n for q, n in statements.items() if not READ_ONLY_STATEMENT.match(q)}
    limited = sum(n for (_, _, status), n in sent.items() if status == "429")
    # the safe methods (RFC 9110 section 9.2.1): a CORS preflight is an OPTIONS, the
    # cross-site-tracing probe a TRACE
    not_get = {
        key: n for key, n in sent.items() if key[0] not in ("GET", "HEAD", "OPTIONS", "TRACE")
    }
    print(
        f"{environment}: {sum(sent.values()):.0f} HTTP requests ({limited:.0f} answered 429),"
        f" {sum(statements.values())} SQL statement calls ({len(statements)} distinct),"
        f" {len(writes)} not read-only"
    )
    assert statements, (
        "pg_stat_statements saw none of the suite's statements: the count proves nothing"
    )
    assert not writes, f"statements that are not reads reached the database: {list(writes)[:3]}"
    if environment == "production":
        assert not not_get, (
            "requests other than the safe methods (GET, HEAD, OPTIONS, TRACE) reached the API:"
            f" {not_get}"
        )
    else:
        # the control: the disruptive method check sends PUT, PATCH and DELETE, to the health path
        # only
        assert {method for method, _, _ in not_get} == {"PUT", "PATCH", "DELETE"}, not_get
        assert {kind for _, kind, _ in not_get} == {"other"}, (
            f"an unsafe method reached a data route: {not_get}"
        )
    kinds = {c["id"].split("::")[1]: c for c in result.summary["checks"]}
    if environment == "production":
        assert limited == 0, (
            f"{limited:.0f} requests were rate limited: a disruptive check ran against production"
        )
        for name in ("check_rate_limit_enforced", "check_restore_drill"):
            (check,) = [c for cid, c in kinds.items() if cid.startswith(name)]
            assert check["outcome"] == "skipped" and check["message"].startswith("safety: "), check
    else:  # the control: the rate-limit check exhausts the window, and the API's counter shows it
        assert limited > 0, "the staging run drew no 429: the count cannot tell a disruptive run"
