"""Rule: untrusted is not unreachable. A certificate the profile's CA does not sign is reported
once, by the certificate check, as what it is; the API's other checks say they could not run."""

import pytest


@pytest.mark.parametrize("api", ["python", "node"])
def test_an_untrusted_certificate_is_reported_once_and_the_rest_could_not_run(
    sandbox, nbaverify, api
):
    sandbox.up(["tls_cert_untrusted"], api=api)
    try:
        result = nbaverify("check", "gate", "--area", "api", "--area", "security")
    finally:
        sandbox.up([])
    outcomes = result.outcomes()
    certificate = outcomes["checks/test_headers_tls.py::check_certificate_valid"]
    assert (
        certificate["outcome"] == "failed"
        and "is not trusted by the CA in api.ca_file" in certificate["message"]
    )
    health = outcomes["checks/test_health.py::check_health_ok"]
    assert health["outcome"] == "error", health
    assert health["message"].startswith("untrusted: the API at https://127.0.0.1:"), health[
        "message"
    ]
    assert "check_certificate_valid reports the certificate" in health["message"]
    assert not [c for c in outcomes.values() if "unreachable" in c["message"]]
    ws = outcomes["checks/test_websocket.py::check_live_feed_refuses_without_valid_token[none]"]
    assert ws["message"].startswith("untrusted: the WebSocket at wss://"), ws["message"]
