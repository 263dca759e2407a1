"""What the address users reach exposes: the internal endpoints (Prometheus's /metrics,
/health/detailed with the runtime's version and the database's state) answer only on the internal
address the suite and Prometheus use.

Guide: Security Best Practices / Authentication & Authorization / API Security; Monitoring &
Alerting (the metrics Prometheus scrapes). Runs when the profile names the public address
(`api.public_base_url`, an ingress in front of `api.base_url`).
"""

import pytest

from nbaverify.checking import expectations_at_collection

pytestmark = [pytest.mark.area("security")]

API_SECURITY = "Security Best Practices / Authentication & Authorization / API Security"


def pytest_generate_tests(metafunc):
    if "internal_path" in metafunc.fixturenames:
        metafunc.parametrize(
            "internal_path", expectations_at_collection(metafunc.config)["api.internal_paths"]
        )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(API_SECURITY, "Maintenance Schedule / Quarterly Tasks / Security audit")
def check_internals_not_public(api, target, internal_path, evidence):
    """An internal endpoint (`api.internal_paths`: `/metrics`, `/health/detailed`) does not answer
    on the public address.

    One GET, without a token, of the path at the profile's `api.public_base_url`, the address users
    reach (an ingress in front of the API). A 2xx fails: anyone can read the platform's metrics
    (routes, error counts, pool sizes) or its detailed health (the runtime's version, the database's
    state), which tells an attacker what to try. A 401, 403 or 404 passes; the status goes into the
    evidence. Skipped when the profile names no public address.

    A warning, beyond the guide: it keeps these endpoints for Prometheus and operators, and says
    nothing of who else may read them.

    When it fails: Refuse the path where users come in (nginx: `location = /metrics { return 404;
    }`; an Ingress: route only `/api/` and `/health` to the API) and let Prometheus scrape the pods
    or Service directly.
    """
    public = target.profile.api.public_base_url
    if not public:
        pytest.skip(
            "not configured: api.public_base_url (the address users reach, when it is not"
            " api.base_url)"
        )
    url = f"{public.rstrip('/')}{internal_path}"
    reply = api.public_get(url)
    evidence.update(url=url, status=reply.status_code)
    assert not 200 <= reply.status_code < 300, (
        f"GET {url} answered {reply.status_code} on the public address: {internal_path} is for"
        " Prometheus and operators, not for anyone who can reach the API; refuse it at the ingress"
        " and scrape the API on its internal address"
    )
