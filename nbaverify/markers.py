"""Every marker a check may carry, declared once (pytest runs with --strict-markers)."""

from __future__ import annotations

TIERS = ("gate", "daily", "weekly", "monthly", "quarterly")
SAFETY = ("readonly", "disruptive", "writes")
SEVERITIES = ("critical", "warning", "info")
AREAS = ("api", "security", "database", "kubernetes", "monitoring", "hosts")

# what each severity does to a run, and the rule that gives a check its severity (docs/checks.md,
# `nbaverify explain`)
SEVERITY_MEANS = {
    "critical": (
        "fails the run (exit 1). Critical only where the guide demands it, or for an outright hole "
        "(a forged token accepted, the primary down, a Role that reads Secrets)."
    ),
    "warning": (
        "reported; the run fails on it only with --fail-on warning. A practice beyond the guide, or"
        " a finding a person should look at before it becomes an outage."
    ),
    "info": "recorded as a fact of the run; never fails it.",
}

SAFETY_MEANS = {
    "readonly": "only reads; runs everywhere.",
    "disruptive": (
        "spends something the platform's users share (a rate-limit window, load); against"
        " production it runs only when --allow disruptive says so."
    ),
    "writes": (
        "writes, though never to the target (the restore drill's scratch server); against"
        " production it runs only when --allow writes says so."
    ),
}

MARKERS = {
    "gate": (
        "deploy gate: quick checks run after every deploy; use when a broken deploy must be stopped"
    ),
    "daily": (
        "the guide's daily tasks (Maintenance Schedule / Daily Tasks): health, errors, backups,"
        " metrics"
    ),
    "weekly": "the guide's weekly tasks: performance review, slow queries, resource utilisation",
    "monthly": "the guide's monthly tasks: credentials, access, recovery drills",
    "quarterly": (
        "the guide's quarterly tasks: security audit, load testing, capacity, infrastructure review"
    ),
    "area(name)": (
        "the part of the platform a check looks at: api, security, database, kubernetes,"
        " monitoring, hosts"
    ),
    "severity(level)": "critical | warning | info; a failed critical check makes the run exit 1",
    "safety(kind)": (
        "readonly (default) | disruptive (rate limits, load) | writes (restore drill); "
        "against production only readonly runs unless --allow names the kind"
    ),
    "runbook(section, ...)": (
        "the maintenance-guide sections the check verifies, the first its own, e.g. "
        "'System Monitoring / Health Checks / API Health'"
    ),
}
