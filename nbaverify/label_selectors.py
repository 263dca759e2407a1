"""Kubernetes label selectors, matched as the API server matches them (matchLabels and
matchExpressions): which pods a Deployment, a NetworkPolicy or an aggregated ClusterRole selects."""

from __future__ import annotations


def selector_matches(selector: dict | None, labels: dict | None) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a label set; {} selects
    everything. An operator the API does not know selects nothing (the server would refuse the
    object)."""
    selector = selector if isinstance(selector, dict) else {}
    labels = labels if isinstance(labels, dict) else {}
    match_labels = selector.get("matchLabels")
    if any(
        labels.get(k) != v
        for k, v in (match_labels if isinstance(match_labels, dict) else {}).items()
    ):
        return False
    expressions = selector.get("matchExpressions")
    for expr in expressions if isinstance(expressions, list) else []:
        expr = expr if isinstance(expr, dict) else {}
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if not _expression_holds(op, key in labels, labels.get(key), values):
            return False
    return True


def _expression_holds(operator, present: bool, value, values: list) -> bool:
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator in ("Exists", "DoesNotExist"):
        return present is (operator == "Exists")
    return False


def selects_everything(selector: dict | None) -> bool:
    selector = selector if isinstance(selector, dict) else {}
    return not selector.get("matchLabels") and not selector.get("matchExpressions")
