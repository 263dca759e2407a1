"""NetworkPolicy as the API server and a conforming CNI read it.

- `policyTypes`, when a policy does not list it, defaults to Ingress, plus Egress when it has egress
  rules (the API's defaulting); a policy isolates a pod for ingress only when it selects the pod and
  lists Ingress, and an ingress rule of a policy that does not list Ingress is ignored.
- An empty `podSelector` selects every pod of the policy's namespace.
- The pods that may connect are the union of every isolating policy's ingress rules: a rule without
  `from` admits every source; a peer with only `podSelector` means pods of the policy's own
  namespace; with `namespaceSelector` (alone, or with a `podSelector` in the same peer) pods of the
  namespaces it selects; an `ipBlock` admits addresses, never pods by label.
- Namespaces carry `kubernetes.io/metadata.name: <name>` (the API server sets it on every
  namespace).

Pure functions over manifest-shaped dicts.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbaverify.label_selectors import selector_matches, selects_everything

NAME_LABEL = "kubernetes.io/metadata.name"


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def policy_types(policy: dict) -> list[str]:
    """policyTypes as the API defaults it."""
    spec = _dict(policy.get("spec"))
    listed = [t for t in _list(spec.get("policyTypes")) if isinstance(t, str)]
    if listed:
        return listed
    return ["Ingress"] + (["Egress"] if _list(spec.get("egress")) else [])


def selects(policy: dict, namespace: str, labels: dict) -> bool:
    """Does the policy select pods with these labels in this namespace (an empty podSelector: all of
    them)?"""
    if _dict(policy.get("metadata")).get("namespace") != namespace:
        return False
    return selector_matches(_dict(_dict(policy.get("spec")).get("podSelector")), labels)


def isolates_ingress(policy: dict, namespace: str, labels: dict) -> bool:
    return selects(policy, namespace, labels) and "Ingress" in policy_types(policy)


def namespace_labels(namespaces: list[dict], name: str) -> dict:
    """A namespace's labels as the API server keeps them (its own name label always among them)."""
    found = next((n for n in namespaces if _dict(n.get("metadata")).get("name") == name), {})
    return {**_dict(_dict(found.get("metadata")).get("labels")), NAME_LABEL: name}


@dataclass(frozen=True)
class Pods:
    """A set of pods the suite knows of: a workload's, by its namespace and pod labels."""

    name: str  # how messages name it (namespace/Kind/name)
    namespace: str
    labels: dict


def ingress_rules(policy: dict) -> list[dict]:
    """The ingress rules that count: none when the policy does not list Ingress."""
    if "Ingress" not in policy_types(policy):
        return []
    return [
        r if isinstance(r, dict) else {} for r in _list(_dict(policy.get("spec")).get("ingress"))
    ]


def peer_admits(peer: dict, policy_namespace: str, pods: Pods, namespaces: list[dict]) -> bool:
    """Does one `from` peer admit these pods?"""
    if "ipBlock" in peer:
        return False
    has_pods, has_ns = "podSelector" in peer, "namespaceSelector" in peer
    if has_ns:
        if not selector_matches(
            _dict(peer["namespaceSelector"]), namespace_labels(namespaces, pods.namespace)
        ):
            return False
    elif pods.namespace != policy_namespace:
        return False
    return not has_pods or selector_matches(_dict(peer["podSelector"]), pods.labels)


def describe_peer(peer: dict) -> str:
    parts = []
    for key in ("namespaceSelector", "podSelector"):
        if key in peer:
            selector = _dict(peer[key])
            parts.append(f"{key} {_selector_text(selector)}")
    if "ipBlock" in peer:
        block = _dict(peer["ipBlock"])
        parts.append(
            f"ipBlock {block.get('cidr')}"
            + (f" except {block['except']}" if block.get("except") else "")
        )
    return " with ".join(parts) or "every source"


def _selector_text(selector: dict) -> str:
    if selects_everything(selector):
        return "{} (everything)"
    terms = [f"{k}={v}" for k, v in _dict(selector.get("matchLabels")).items()]
    terms += [
        f"{e.get('key')} {e.get('operator')} {e.get('values', '')}".strip()
        for e in _list(selector.get("matchExpressions"))
        if isinstance(e, dict)
    ]
    return "{" + ", ".join(terms) + "}"


def open_peers(policy: dict) -> list[str]:
    """Ingress that admits everything: a rule with no `from`, `{}` selectors across namespaces or
    within one, or 0.0.0.0/0. Rules of a policy that does not list Ingress are ignored by the API,
    and so here."""
    found = []
    for number, rule in enumerate(ingress_rules(policy), start=1):
        peers = _list(rule.get("from"))
        if not peers:
            found.append(f"ingress rule {number} has no 'from' (admits every source)")
            continue
        for peer in (p for p in peers if isinstance(p, dict)):
            block = _dict(peer.get("ipBlock")).get("cidr")
            if block in ("0.0.0.0/0", "::/0"):
                found.append(f"ingress rule {number} admits ipBlock {block}")
            has_pods, has_ns = "podSelector" in peer, "namespaceSelector" in peer
            any_pod = not has_pods or selects_everything(_dict(peer["podSelector"]))
            if has_ns and selects_everything(_dict(peer["namespaceSelector"])) and any_pod:
                found.append(
                    f"ingress rule {number} admits every pod of every namespace (namespaceSelector"
                    " {})"
                )
            elif has_pods and not has_ns and selects_everything(_dict(peer["podSelector"])):
                found.append(
                    f"ingress rule {number} admits every pod of the namespace (podSelector {{}})"
                )
    return found


@dataclass(frozen=True)
class Ingress:
    """Who may connect to a set of pods, by the policies that isolate them."""

    isolating: list[dict]  # the policies that select the pods and list Ingress
    selecting_without_ingress: list[dict]  # policies that select them but do not isolate ingress
    # (policy, peer) of every counted ingress rule; peer {} = every source
    peers: list[tuple[dict, dict]]
    open_rules: list[tuple[dict, int]]  # (policy, rule number) of rules without `from`


def ingress_to(policies: list[dict], pods: Pods) -> Ingress:
    isolating = [p for p in policies if isolates_ingress(p, pods.namespace, pods.labels)]
    others = [p for p in policies if selects(p, pods.namespace, pods.labels) and p not in isolating]
    peers: list[tuple[dict, dict]] = []
    open_rules: list[tuple[dict, int]] = []
    for policy in isolating:
        for number, rule in enumerate(ingress_rules(policy), start=1):
            found = [p for p in _list(rule.get("from")) if isinstance(p, dict)]
            if not found:
                open_rules.append((policy, number))
            peers += [(policy, peer) for peer in found]
    return Ingress(isolating, others, peers, open_rules)
