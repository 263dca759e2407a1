"""Every marker a check may carry, declared once (pytest runs with --strict-markers)."""

from __future__ import annotations

from typing import Any, Protocol

TIERS = ("gate", "daily", "weekly", "monthly", "quarterly")
SAFETY = ("readonly", "disruptive", "writes")
SEVERITIES = ("critical", "warning", "info")
AREAS = ("api", "security", "database", "kubernetes", "monitoring", "hosts")

MARKERS = {
    "gate": "deploy gate: quick checks run after every deploy; use when a broken deploy must be stopped",
    "daily": "the guide's daily tasks (Maintenance Schedule / Daily Tasks): health, errors, backups, metrics",
    "weekly": "the guide's weekly tasks: performance review, slow queries, resource utilisation",
    "monthly": "the guide's monthly tasks: credentials, access, recovery drills",
    "quarterly": "the guide's quarterly tasks: security audit, load testing, capacity, infrastructure review",
    "area(name)": "the part of the platform a check looks at: api, security, database, kubernetes, monitoring, hosts",
    "severity(level)": "critical | warning | info; a failed critical check makes the run exit 1",
    "safety(kind)": "readonly (default) | disruptive (rate limits, load) | writes (restore drill); "
                    "against production only readonly runs unless --allow names the kind",
    "runbook(section)": "the maintenance-guide section the check verifies, e.g. "
                        "'System Monitoring / Health Checks / API Health'",
}


class _Marked(Protocol):
    def get_closest_marker(self, name: str) -> Any: ...


def marker_arg(item: _Marked, name: str, default: str = "") -> str:
    """The first argument of the item's closest `name` marker, or `default` when it has none."""
    marker = item.get_closest_marker(name)
    return str(marker.args[0]) if marker is not None and marker.args else default
