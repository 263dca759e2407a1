"""Methods nobody serves: the API is read-only (every route of the guide is a GET), so TRACE, PUT,
PATCH and DELETE are refused with 405 (501 for one the server does not implement at all), never
served or echoed.

Guide: Security Best Practices / Authentication & Authorization / API Security. TRACE is a safe
method (RFC 9110 §9.3.8) and changes nothing: its check is production-safe. PUT, PATCH and DELETE
are not safe methods, even sent to the health path, which holds no data: their check is marked
disruptive, so against production it runs only when the run says `--allow disruptive`.
"""

import pytest

pytestmark = [pytest.mark.area("security")]

API_SECURITY = "Security Best Practices / Authentication & Authorization / API Security"
REFUSED = {405, 501}  # Method Not Allowed; Not Implemented (the method unknown to the server)
REFUSED_BEFORE_ROUTING = {401, 403}  # the data path's auth may answer first: still refused
WHY = (
    "want 405 (or 501) for a method a path does not serve: answer it from the router (Koa: "
    "app.use(router.allowedMethods()))"
)


def _judge(api, probes: list[tuple[str, str, set[int]]], evidence) -> list[str]:
    """Send each (method, path) without a token; what came back other than a refusal, one phrase
    each."""
    wrong = []
    for method, path, refused in probes:
        reply = api.request(method, path)
        evidence[f"{method} {path}"] = reply.status_code
        if reply.status_code in refused:
            continue
        if method == "TRACE" and reply.headers.get("content-type", "").startswith("message/http"):
            wrong.append(
                f"TRACE {path} answered {reply.status_code} echoing the request back (Cross-Site"
                " Tracing)"
            )
        elif 200 <= reply.status_code < 300:
            wrong.append(f"{method} {path} was served ({reply.status_code})")
        else:
            wrong.append(f"{method} {path} answered {reply.status_code}")
    return wrong


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(API_SECURITY, "Maintenance Schedule / Quarterly Tasks / Security audit")
def check_trace_refused(api, expect, evidence):
    """TRACE on the health path and on the data path is refused (405 or 501), never echoed back.

    One TRACE each to `api.health_path` and `api.auth.probe_path`, without a token (the data path
    may also refuse with 401 before routing). A 2xx that echoes the request (`message/http`) hands a
    script on another page the request's cookies and token (Cross-Site Tracing); any other answer
    but a refusal is named. Each answer goes into the evidence.

    A warning, beyond the guide: OWASP's testing guide (WSTG-CONF-06) asks for TRACE to be off.

    When it fails: Remove the TRACE handler or debugging middleware that answers it, and refuse
    TRACE at the ingress (nginx: `if ($request_method = TRACE) { return 405; }`); Koa's
    `router.allowedMethods()` answers it 501.
    """
    probes = [
        ("TRACE", expect["api.health_path"], REFUSED),
        ("TRACE", expect["api.auth.probe_path"], REFUSED | REFUSED_BEFORE_ROUTING),
    ]
    wrong = _judge(api, probes, evidence)
    assert not wrong, f"on {api.base_url}: {'; '.join(wrong)}; {WHY} and turn TRACE off"


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(API_SECURITY, "Maintenance Schedule / Quarterly Tasks / Security audit")
def check_unsafe_methods_refused(api, expect, evidence):
    """PUT, PATCH and DELETE on the health path are refused with 405 (or 501): the router says what
    it serves.

    Each is sent once, without a token or a body, to `api.health_path` (it holds no data; the data
    paths are never sent an unsafe method). A 2xx is a method served that nobody meant to serve (a
    catch-all route, `router.all`); a 404 means the router does not say which methods the path
    serves; a 5xx other than 501 is a crash. Marked disruptive: these are not safe methods (RFC 9110
    §9.2.1), so against production the check runs only with `--allow disruptive`.

    A warning, beyond the guide: OWASP's testing guide (WSTG-CONF-06) asks for 405 on methods a
    resource does not serve.

    When it fails: Register each route for the methods it serves (`router.get`, not `router.all`)
    and answer the rest from the router (Koa: `app.use(router.allowedMethods())` after
    `router.routes()`).
    """
    probes = [(method, expect["api.health_path"], REFUSED) for method in ("PUT", "PATCH", "DELETE")]
    wrong = _judge(api, probes, evidence)
    assert not wrong, f"on {api.base_url}: {'; '.join(wrong)}; {WHY}"
