"""Input handling: bad input gets a 400 JSON error, unknown ids a 404, and no input reaches SQL or a
stack trace. Contract 2; guide: Security Best Practices / Data Protection / Data Sanitization.
"""

import pytest

from nbaverify.probes import fuzz, http

pytestmark = [pytest.mark.area("security")]

SANITIZATION = "Security Best Practices / Data Protection / Data Sanitization"
# (-1 is no bad id to this check: 404 is one of the 4xx it takes, and an API that looks a negative
# id up answers it)
BAD_IDS = ["abc", "1.5", "99999999999999999999"]
# the largest PostgreSQL integer: a valid id that no row of a serial column has before it overflows
# (999999, the old choice, is a real game of the sandbox at --scale 100: a large platform's games
# pass a million)
UNKNOWN_ID = 2_147_483_647
INJECTIONS = [
    "1' OR '1'='1",
    "0 OR 1=1",
    "1; DROP TABLE players--",
    "1)) UNION SELECT usename FROM pg_user--",
]


def verdict(api, path, reply) -> str | None:
    leaked = http.leaked_internals(reply.text)
    if leaked:
        return f"GET {api.url(path)} returned {reply.status_code} showing internals ({leaked})"
    if reply.status_code >= 500:
        return f"GET {api.url(path)} crashed with {reply.status_code}"
    return None


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(SANITIZATION)
@pytest.mark.parametrize("bad_id", BAD_IDS)
def check_bad_id_refused(api, bad_id):
    """A malformed player id gets a 4xx, never a 5xx or internals in the body.

    One case per id: `abc`, `1.5` and `99999999999999999999`, on `/api/players/{id}` with a valid
    token. Contract 2 says 400; a digits-only route's 404 or a 422 is as good, so any 4xx passes.
    Internals are a Python traceback, a JavaScript stack trace, a `node_modules` path, SQL error
    text, or database driver internals (`psycopg`, `pg_catalog`, `ProgrammingError`).

    When it fails: Reproduce it with `curl -i -H 'Authorization: Bearer TOKEN' URL` and read the API
    log (`kubectl logs -f deployment/api`) for the error behind it. Validate the id as an integer in
    the route and answer 400 before it reaches the query, with no stack trace or SQL text in the
    body.
    """
    path = f"/api/players/{bad_id}"
    reply = api.get(path, token=api.token())
    problem = verdict(api, path, reply)
    assert problem is None, f"{problem}; expected a 4xx error without internals"
    assert 400 <= reply.status_code < 500, (
        f"GET {api.url(path)} returned {reply.status_code} for the malformed id {bad_id!r},"
        " expected a 4xx (400)"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(SANITIZATION)
@pytest.mark.parametrize("path", [f"/api/players/{UNKNOWN_ID}", f"/api/games/{UNKNOWN_ID}/stats"])
def check_unknown_id_is_404(api, path):
    """An id no row has gets a 404.

    One case per path: `/api/players/2147483647` and `/api/games/2147483647/stats`, with a valid
    token. The id is PostgreSQL's largest integer: a valid id that no row of a serial column has
    before it overflows. Any other status fails.

    When it fails: Reproduce it with `curl -i` and a valid token on the URL the message names. A 200
    with an empty or null body means the handler does not check for a missing row: make it answer
    404; a 5xx is in the API log (`kubectl logs -f deployment/api`).
    """
    reply = api.get(path, token=api.token())
    assert reply.status_code == 404, (
        f"GET {api.url(path)} returned {reply.status_code}, expected 404 for an unknown id"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(SANITIZATION, "Maintenance Schedule / Quarterly Tasks / Security audit")
@pytest.mark.parametrize("payload", INJECTIONS)
def check_sql_injection_refused(api, payload):
    """An SQL injection in a player id gets a 4xx: never a 5xx, a stack trace or SQL error text.

    One case per payload: `1' OR '1'='1`, `0 OR 1=1`, `1; DROP TABLE players--` and `1)) UNION
    SELECT usename FROM pg_user--`, on `/api/players/{payload}` with a valid token. A 2xx or 3xx
    means the id reaches the query unvalidated. Internals are a Python traceback, a JavaScript stack
    trace, a `node_modules` path, SQL error text, or database driver internals (`psycopg`,
    `pg_catalog`, `ProgrammingError`).

    When it fails: Treat a 2xx or SQL error text as an injection hole: tell the security team, and
    read the API log (`kubectl logs -f deployment/api`) for the query the payload reached. The route
    must validate the id and pass it as a bound parameter, never by string concatenation. Do not
    waive an accepted injection.
    """
    path = f"/api/players/{payload}"
    reply = api.get(path, token=api.token())
    problem = verdict(api, path, reply)
    assert problem is None, f"SQL injection {payload!r}: {problem}"
    assert 400 <= reply.status_code < 500, (
        f"SQL injection {payload!r} on GET {api.url(path)} returned {reply.status_code}, expected a"
        " 4xx: the id reaches the query unvalidated"
    )


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(SANITIZATION)
def check_oversized_input_refused(api):
    """Query parameters of 5,000 characters get a 4xx, never a 5xx or internals.

    `GET /api/players` with a valid token, `limit` 5,000 nines and `offset` 5,000 x's. Internals are
    a Python traceback, a JavaScript stack trace, a `node_modules` path, SQL error text, or database
    driver internals (`psycopg`, `pg_catalog`, `ProgrammingError`).

    When it fails: Reproduce it with the URL the message names (`limit` of 5,000 nines) and read the
    API log (`kubectl logs -f deployment/api`) for the crash. Validate `limit` and `offset` as
    bounded integers and answer 400, with no internals in the body.
    """
    path = "/api/players"
    reply = api.get(path, token=api.token(), params={"limit": "9" * 5000, "offset": "x" * 5000})
    problem = verdict(api, path, reply)
    assert problem is None and 400 <= reply.status_code < 500, (
        problem
        or f"GET {api.url(path)} with 5000-character parameters returned {reply.status_code},"
        " expected a 4xx"
    )


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(SANITIZATION)
def check_fuzzed_query_parameters(api, expect):
    """Fuzzed `limit`, `offset` and `season` values never get a 5xx or internals in the body.

    Hypothesis sends `api.auth.fuzz_examples` (5) values, integers up to 10^12 either way or any
    text up to 60 characters, as `limit` or `offset` on `/api/players` or as `season` on
    `/api/players/1/stats`, with a valid token. Internals are a Python traceback, a JavaScript stack
    trace, a `node_modules` path, SQL error text, or database driver internals (`psycopg`,
    `pg_catalog`, `ProgrammingError`). The examples are derandomized and never shrunk: shrinking a
    failure would send unbounded requests against the rate limit.

    When it fails: Resend the value the message quotes as that parameter, with a valid token (`curl
    -i`), and read the API log (`kubectl logs -f deployment/api`) for the error. Validate and bound
    the parameter, answering 400 without internals; the examples are derandomized, so the next run
    sends the same ones.
    """
    # here, not at the top: a gate run never pays for importing Hypothesis
    from hypothesis import given
    from hypothesis import strategies as st

    token = api.token()

    @fuzz.within_budget(expect["api.auth.fuzz_examples"])
    @given(
        st.sampled_from(
            [
                ("/api/players", "limit"),
                ("/api/players", "offset"),
                ("/api/players/1/stats", "season"),
            ]
        ),
        st.one_of(
            st.integers(min_value=-(10**12), max_value=10**12).map(str), st.text(max_size=60)
        ),
    )
    def probe(target, value):
        path, name = target
        reply = api.get(path, token=token, params={name: value})
        problem = verdict(api, path, reply)
        assert problem is None, f"{name}={value[:30]!r}: {problem}"

    probe()
