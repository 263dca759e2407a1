"""Alertmanager's configuration, read and walked: validity and routing through amtool (the
Alertmanager project's own tool, so the suite agrees with Alertmanager by construction), and the
receivers, routes and inhibitions as data."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from nbaverify import yaml_text
from nbaverify.errors import CheckError, MissingBinary

AMTOOL_TIMEOUT_S = 30
PLACEHOLDER = re.compile(
    r"@(example\.(com|org|net)|localhost)$|changeme|todo|placeholder|xxx", re.IGNORECASE
)
CONFIG_KINDS = (
    "email_configs",
    "webhook_configs",
    "pagerduty_configs",
    "slack_configs",
    "opsgenie_configs",
    "victorops_configs",
    "pushover_configs",
    "wechat_configs",
    "telegram_configs",
    "sns_configs",
    "webex_configs",
    "discord_configs",
    "msteams_configs",
)


def amtool() -> str | None:
    return shutil.which("amtool")


def _amtool(*args: str) -> subprocess.CompletedProcess:
    found = amtool()
    if found is None:
        raise MissingBinary(
            "amtool", "install Alertmanager's amtool (Debian: apt install prometheus-alertmanager)"
        )
    return subprocess.run([found, *args], capture_output=True, text=True, timeout=AMTOOL_TIMEOUT_S)


def _said(done: subprocess.CompletedProcess) -> str:
    """What amtool said was wrong, in one line (without its banner and its note about
    --alertmanager.url)."""
    lines = []
    for line in (done.stdout + done.stderr).splitlines():
        line = line.strip()
        if "FAILED:" in line:
            line = line.split("FAILED:", 1)[1].strip()
        elif not line or line.startswith(
            ("Checking", "Warning:", "amtool: error: failed to validate")
        ):
            continue
        lines.append(line.removeprefix("amtool: error: "))
    return "; ".join(dict.fromkeys(lines))[:300] or f"amtool exited {done.returncode}"


# amtool's answers started ahead of the checks that read them (start_early in the alerting checks):
# (what was asked, the file, its content's digest, the labels) -> the answer to come
_STARTED: dict[tuple, Future] = {}


def _asked(ask: Callable, path: Path, labels: dict[str, str] | None) -> tuple | None:
    """The key of a question to amtool about a file as it is now; None when it cannot be read
    (amtool is then asked, and says so)."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return (ask.__name__, str(path), digest, tuple(sorted((labels or {}).items())))


def start(config: Path, labels: list[dict[str, str]]) -> None:
    """Ask amtool in the background, on two threads, whether this file is valid and where alerts
    with these labels go: a routing check's cases then read the answers instead of starting one
    process each (about 15 ms a process, and a gate asks some thirty). An answer is used only for
    the file's content it was asked about; the same exception a question raises is raised where it
    is read."""
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="amtool")
    questions: list[tuple[Callable[..., Any], dict[str, str] | None]] = [
        (_check_config, None),
        *((_routes, one) for one in labels),
    ]
    for ask, each in questions:
        key = _asked(ask, config, each)
        if key is not None and key not in _STARTED:
            _STARTED[key] = pool.submit(_ask, ask, config, each)
    pool.shutdown(wait=False)  # its threads end with its tasks


def _answer(ask: Callable, path: Path, labels: dict[str, str] | None = None) -> Any:
    key = _asked(ask, path, labels)
    started = _STARTED.get(key) if key is not None else None
    if started is not None:
        return started.result()  # each amtool run has its own timeout
    return _ask(ask, path, labels)


def _ask(ask: Callable[..., Any], path: Path, labels: dict[str, str] | None) -> Any:
    return ask(path) if labels is None else ask(path, labels)


def check_config(path: Path) -> str | None:
    """`amtool check-config`: None when valid, else amtool's reason in one line."""
    return _answer(_check_config, path)


def _check_config(path: Path) -> str | None:
    done = _amtool("check-config", str(path))
    return None if done.returncode == 0 else _said(done)


def routes(path: Path, labels: dict[str, str]) -> list[str]:
    """The receivers Alertmanager sends an alert with these labels to, in order (`amtool config
    routes test`)."""
    return _answer(_routes, path, labels)


def _routes(path: Path, labels: dict[str, str]) -> list[str]:
    done = _amtool(
        "config",
        "routes",
        "test",
        f"--config.file={path}",
        *(f"{k}={v}" for k, v in labels.items()),
    )
    if done.returncode != 0:
        raise CheckError(f"amtool config routes test on {path} failed: {_said(done)}")
    out = [line for line in done.stdout.splitlines() if line.strip()]
    return out[-1].strip().split(",") if out else []


def routes_each(queries: list[tuple[Path, dict[str, str]]]) -> list[list[str]]:
    """`routes` for each (file, labels), the amtool processes run side by side: each costs about
    15 ms of start-up, and a routing check asks one per alert."""
    with ThreadPoolExecutor(max_workers=max(1, min(4, len(queries)))) as pool:
        return list(pool.map(lambda query: routes(*query), queries))


@contextmanager
def config_file(config_text: str) -> Iterator[Path]:
    """The configuration a live Alertmanager reports it has loaded, as a file amtool can read."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="nbaverify-am-") as file:
        file.write(config_text)
        file.flush()
        yield Path(file.name)


def load(path: Path) -> dict[str, Any]:
    try:
        return parse(path.read_text(), f"the Alertmanager configuration {path}")
    except OSError as exc:
        raise CheckError(f"cannot read the Alertmanager configuration {path}: {exc}") from None


def parse(
    text: str, where: str = "the configuration Alertmanager reports it loaded"
) -> dict[str, Any]:
    try:
        return yaml_text.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise CheckError(f"cannot read {where}: {' '.join(str(exc).split())}") from None


def receivers(config: dict) -> dict[str, dict]:
    return {r["name"]: r for r in config.get("receivers", [])}


def is_null(receiver: dict) -> bool:
    """A receiver with no integration delivers nothing (the common way to drop alerts on
    purpose)."""
    return not any(receiver.get(kind) for kind in CONFIG_KINDS)


def walk(route: dict) -> Iterator[dict]:
    yield route
    for child in route.get("routes", []) or []:
        yield from walk(child)


def routed_receivers(config: dict) -> set[str]:
    return {r["receiver"] for r in walk(config.get("route", {})) if r.get("receiver")}


def addresses(receiver: dict) -> list[str]:
    """Where a receiver notifies: email recipients, webhook URLs (what a person on call can
    read)."""
    found = []
    for email in receiver.get("email_configs", []) or []:
        found += [a.strip() for a in str(email.get("to", "")).split(",") if a.strip()]
    found += [str(hook.get("url", "")) for hook in receiver.get("webhook_configs", []) or []]
    return found


# -- teams: a receiver belongs to a team by what it notifies ---------------------------------------
ON_CALL = "on-call"
PAGING = ("pagerduty_configs", "opsgenie_configs", "victorops_configs")
PAGER_NAME = re.compile(r"on-?call|pager|paging", re.IGNORECASE)


def teams_of(
    config: dict, contacts: dict[str, list[str]], named: dict[str, list[str]]
) -> dict[str, set[str]]:
    """Each receiver's teams: those whose addresses it notifies, those a team named it for
    (`named`), and, when no receiver is named for the on-call engineer (the guide gives them no
    address), on-call for a receiver that pages or is named like on-call or pager."""
    found: dict[str, set[str]] = {}
    for name, receiver in receivers(config).items():
        have = set(addresses(receiver))
        teams = {team for team, wanted in contacts.items() if have & set(wanted)}
        teams |= {team for team, names in named.items() if name in names}
        if ON_CALL not in named and (
            any(receiver.get(kind) for kind in PAGING) or PAGER_NAME.search(name)
        ):
            teams.add(ON_CALL)
        found[name] = teams
    return found


def teams_reached(routed: list[str], teams: dict[str, set[str]]) -> set[str]:
    return set().union(*(teams.get(name, set()) for name in routed)) if routed else set()


def describe_routed(routed: list[str], teams: dict[str, set[str]]) -> str:
    """'oncall-pager (on-call), dba (database), archive (no team)'."""
    return (
        ", ".join(
            f"{name} ({', '.join(sorted(teams.get(name, set()))) or 'no team'})" for name in routed
        )
        or "nobody"
    )


# -- a route's timers, as the live Alertmanager inherits them --------------------------------------
# Alertmanager's own
TIMER_DEFAULTS = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


def seconds(duration: str) -> float:
    """Prometheus's duration syntax: '1m30s', '5m', '0s', '2h'."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", str(duration))
    if not parts:
        raise CheckError(f"cannot read the duration {duration!r} in the Alertmanager configuration")
    return sum(float(n) * units[u] for n, u in parts)


def _route_matches(route: dict, labels: dict[str, str]) -> bool:
    matchers = [m for text in route.get("matchers", []) or [] if (m := _MATCHER.match(str(text)))]
    checks = [(m[1], m[2], m[3]) for m in matchers]
    checks += [(k, "=", str(v)) for k, v in (route.get("match") or {}).items()]
    checks += [(k, "=~", str(v)) for k, v in (route.get("match_re") or {}).items()]
    for name, op, pattern in checks:
        value = labels.get(name, "")
        if (
            (op == "=" and value != pattern)
            or (op == "!=" and value == pattern)
            or (op == "=~" and not re.fullmatch(pattern, value))
            or (op == "!~" and re.fullmatch(pattern, value))
        ):
            return False
    return True


def route_timers(config: dict, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The routes an alert with these labels ends at (as Alertmanager walks them: the first matching
    child, on while `continue`), each with its receiver and the timers it inherits."""
    found: list[dict[str, Any]] = []

    def visit(route: dict, inherited: dict[str, str]) -> bool:
        timers = {key: str(route.get(key, inherited[key])) for key in TIMER_DEFAULTS}
        receiver = route.get("receiver", inherited.get("receiver", ""))
        matched_child = False
        for child in route.get("routes", []) or []:
            if _route_matches(child, labels):
                visit(child, {**timers, "receiver": receiver})
                matched_child = True
                if not child.get("continue"):
                    break
        if not matched_child:
            found.append(
                {"receiver": receiver, **{key: seconds(value) for key, value in timers.items()}}
            )
        return True

    root = config.get("route") or {}
    visit(root, {**TIMER_DEFAULTS, "receiver": root.get("receiver", "")})
    return found


# -- the always-firing alert -----------------------------------------------------------------------
WATCHDOG_NAMES = ("Watchdog", "DeadMansSwitch", "AlwaysFiring")


def watchdog_rule(rules: list[dict], name: str) -> dict | None:
    """The rule that always fires: by the expected name, a common one, or an expression that is
    always true."""
    by_name = {rule.get("name"): rule for rule in rules}
    for wanted in (name, *WATCHDOG_NAMES):
        if wanted in by_name:
            return by_name[wanted]
    return next(
        (
            rule
            for rule in rules
            if re.fullmatch(r"\s*vector\(\s*1\s*\)\s*", str(rule.get("query", "")))
        ),
        None,
    )


def placeholders(config: dict) -> list[str]:
    return [
        f"{name}: {address}"
        for name, receiver in receivers(config).items()
        for address in addresses(receiver)
        if PLACEHOLDER.search(address)
    ]


# -- inhibition ------------------------------------------------------------------------------------
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def _matchers(rule: dict, side: str) -> list[tuple[str, str, str]]:
    """A rule side's matchers, new style (`source_matchers`) and old (`source_match`,
    `source_match_re`)."""
    found = []
    for text in rule.get(f"{side}_matchers", []) or []:
        match = _MATCHER.match(str(text))
        if match:
            found.append((match[1], match[2], match[3]))
    found += [(k, "=", str(v)) for k, v in (rule.get(f"{side}_match") or {}).items()]
    found += [(k, "=~", str(v)) for k, v in (rule.get(f"{side}_match_re") or {}).items()]
    return found


def _accepts(matchers: list[tuple[str, str, str]], label: str, value: str) -> bool:
    """Could an alert with label=value pass these matchers (matchers on other labels assumed
    satisfiable)?"""
    for name, op, pattern in matchers:
        if name != label:
            continue
        if (op == "=" and value != pattern) or (op == "!=" and value == pattern):
            return False
        if (op == "=~" and not re.fullmatch(pattern, value)) or (
            op == "!~" and re.fullmatch(pattern, value)
        ):
            return False
    return True


def inhibitions_muting(
    config: dict, severity: str = "critical", lower: tuple[str, ...] = ("warning", "info")
) -> list[str]:
    """Inhibit rules under which a lower-severity alert can mute one of `severity`, described."""
    muting = []
    for number, rule in enumerate(config.get("inhibit_rules", []) or []):
        target, source = _matchers(rule, "target"), _matchers(rule, "source")
        by = [level for level in lower if _accepts(source, "severity", level)]
        if _accepts(target, "severity", severity) and by:
            shown = ", ".join(f"{n}{op}{v!r}" for n, op, v in source) or "any alert"
            muting.append(
                f"inhibit_rules[{number}] (source {shown}) lets a {by[0]} alert mute {severity}"
                " ones"
            )
    return muting


# -- silences ------------------------------------------------------------------------------------
def silence_matches(silence: dict, labels: dict[str, str]) -> bool:
    """Could the silence cover an alert with these labels? (a matcher on a label the alert's rule
    does not set is assumed satisfiable: instance, job and the like come from the series)"""
    for matcher in silence.get("matchers", []):
        name, value = matcher["name"], str(matcher["value"])
        if name not in labels:
            continue
        hit = (
            re.fullmatch(value, labels[name]) is not None
            if matcher.get("isRegex")
            else labels[name] == value
        )
        if hit != matcher.get("isEqual", True):
            return False
    return True


def _hours(silence: dict) -> float:
    starts, ends = (
        dt.datetime.fromisoformat(silence[k].replace("Z", "+00:00")) for k in ("startsAt", "endsAt")
    )
    return (ends - starts).total_seconds() / 3600


def active(silences: list[dict]) -> list[dict]:
    return [s for s in silences if s.get("status", {}).get("state") == "active"]


def long_silences(
    silences: list[dict], rules: list[dict], severity: str, max_hours: float
) -> list[str]:
    """Active silences over max_hours that cover an alert of `severity` (by the rules' labels),
    described."""
    found = []
    for silence in active(silences):
        covered = sorted(
            {
                rule["name"]
                for rule in rules
                if rule.get("labels", {}).get("severity") == severity
                and silence_matches(silence, {"alertname": rule["name"], **rule.get("labels", {})})
            }
        )
        if covered and _hours(silence) > max_hours:
            found.append(
                f"silence {silence['id']} covers {severity} alert(s) {', '.join(covered)} for "
                f"{_hours(silence):.0f}h (until {silence['endsAt']}), longer than {max_hours:g}h "
                f"(by {silence.get('createdBy') or 'nobody named'})"
            )
    return found


def unexplained_silences(silences: list[dict]) -> list[str]:
    return [
        f"silence {s['id']}"
        f" ({', '.join(m['name'] + '=' + str(m['value']) for m in s.get('matchers', []))}) has "
        + " and ".join(
            what
            for what, empty in (
                ("no creator", not s.get("createdBy", "").strip()),
                ("no comment", not s.get("comment", "").strip()),
            )
            if empty
        )
        for s in active(silences)
        if not s.get("createdBy", "").strip() or not s.get("comment", "").strip()
    ]


def cluster_disagreements(views: list[tuple[str, dict, set[str]]]) -> list[str]:
    """What the instances of one Alertmanager cluster disagree on, each said of the instance that
    differs from the first: views are (url, GET /api/v2/status, ids of its active silences), the
    first the profile's.
    """
    expected = len(views)
    (first_url, first, first_silences), problems = views[0], []
    for url, status, silences in views:
        cluster = status.get("cluster") or {}
        state = cluster.get("status", "unknown")
        if state == "disabled":
            problems.append(
                f"{url} runs without gossip (cluster disabled): it shares no silences and no"
                " notification log with the other instance(s), so an alert sent to both is"
                " notified twice and a silence set on one misses the other"
            )
            continue
        seen = len(cluster.get("peers") or [])
        if state != "ready":
            problems.append(f"{url}: cluster {state}")
        elif expected > 1 and seen != expected:
            # one instance named: its peers are not the profile's to count
            problems.append(
                f"{url} sees {seen} cluster member(s), expected {expected} (every instance of"
                " [alertmanager])"
            )
        if url == first_url:
            continue
        if status.get("config", {}).get("original") != first.get("config", {}).get("original"):
            problems.append(
                f"{url} has loaded another configuration than {first_url} (a deploy reached one"
                " instance)"
            )
        if silences != first_silences:
            missing, extra = sorted(first_silences - silences), sorted(silences - first_silences)
            problems.append(
                f"{url} disagrees with {first_url} on the active silences"
                + (f" (lacks {', '.join(missing)})" if missing else "")
                + (f" (has {', '.join(extra)} that {first_url} lacks)" if extra else "")
            )
    return problems


# -- the drill's deliveries ------------------------------------------------------------------------
def sends_resolved(config: dict, receiver: str) -> bool:
    """Whether a receiver tells of a resolution: one of its integrations has send_resolved on (the
    configuration a live Alertmanager reports has every default filled in, so this reads it as
    Alertmanager runs it).
    """
    found = receivers(config).get(receiver, {})
    return any(
        bool(integration.get("send_resolved"))
        for kind in CONFIG_KINDS
        for integration in found.get(kind, []) or []
    )


def delivered_to(entries: list[dict], marker: str, status: str) -> set[str]:
    """The receivers a delivery record shows a notification of `status` (firing or resolved) for,
    among the notifications that carry `marker` (the drill's unique label value) anywhere in
    them."""
    return {
        str(entry["receiver"])
        for entry in entries
        if entry.get("status") == status and entry.get("receiver") and marker in json.dumps(entry)
    }
