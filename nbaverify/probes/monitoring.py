"""What the monitoring checks ask about: rule files, promtool, dashboards, the metrics queries
use."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from nbaverify import yaml_text
from nbaverify.errors import MissingBinary


def resolve(path: str) -> Path:
    """An expectation's path (already made absolute against the file that set it:
    nbaverify.config)."""
    return Path(path)


def promtool() -> str | None:
    return shutil.which("promtool")


def _promtool() -> str:
    found = promtool()
    if found is None:  # the checks skip before this; a caller that did not is told what to install
        raise MissingBinary(
            "promtool", "install Prometheus's promtool (Debian: apt install prometheus)"
        )
    return found


# -- rules ------------------------------------------------------------------------------------
def rule_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))


def alerting_rules(directory: Path) -> list[dict]:
    rules = []
    for path in rule_files(directory):
        for group in (yaml_text.safe_load(path.read_text()) or {}).get("groups", []):
            rules += [
                dict(rule, file=path.name) for rule in group.get("rules", []) if "alert" in rule
            ]
    return rules


def check_rules(files: list[Path]) -> tuple[bool, str]:
    done = subprocess.run(
        [_promtool(), "check", "rules", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0, one_line(done.stdout + done.stderr)


@dataclass(frozen=True)
class RuleTest:
    """One test group of a promtool rule-test file: its name, the file, the group as written, and
    the rule files and evaluation interval that file gives it."""

    name: str
    source: Path
    group: dict
    rule_files: list[str]
    evaluation_interval: str | None

    def alertnames(self) -> set[str]:
        return {case["alertname"] for case in self.group.get("alert_rule_test", [])}


def rule_tests(directory: Path) -> list[RuleTest]:
    found = []
    for path in sorted(directory.glob("*.yml")):
        doc = yaml_text.safe_load(path.read_text()) or {}
        for index, group in enumerate(doc.get("tests", [])):
            found.append(
                RuleTest(
                    group.get("name") or f"{path.stem} #{index + 1}",
                    path,
                    group,
                    doc.get("rule_files", []),
                    doc.get("evaluation_interval"),
                )
            )
    return found


def run_rule_tests(tests: list[RuleTest], rules_dir: Path) -> list[tuple[bool, str]]:
    """Each test group's result through `promtool test rules`, against the rule files in rules_dir
    (by name). The groups that share rule files run in one promtool process, and only where that
    run fails does each of them run alone (promtool's report does not say which group failed): a
    promtool run costs about 50 ms however little it tests, and a platform has a group per alert."""
    results: dict[int, tuple[bool, str]] = {}
    batches: dict[tuple[tuple[Path, ...], str | None], list[int]] = {}
    for index, test in enumerate(tests):
        files = tuple(rules_dir / Path(name).name for name in test.rule_files)
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            # promtool runs a test against no rules without a word: an alert that must stay
            # silent "passes"
            results[index] = (
                False,
                f"its rule file(s) {', '.join(missing)} are not among the rules: the test would"
                " run against none",
            )
        else:
            batches.setdefault((files, test.evaluation_interval), []).append(index)
    for (files, interval), members in batches.items():
        if len(members) > 1:
            ok, _ = _promtool_test(files, [tests[i].group for i in members], interval)
            if ok:
                for i in members:
                    results[i] = (True, "")
                continue
        for i in members:
            results[i] = _promtool_test(files, [tests[i].group], interval)
    return [results[index] for index in range(len(tests))]


def _promtool_test(
    files: tuple[Path, ...], groups: list[dict], evaluation_interval: str | None
) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="nbaverify-promtool-") as tmp:
        doc: dict = {"rule_files": [str(f) for f in files], "tests": groups}
        if evaluation_interval:
            doc["evaluation_interval"] = evaluation_interval
        file = Path(tmp) / "test.yml"
        file.write_text(yaml.safe_dump(doc, sort_keys=False))
        done = subprocess.run(
            [_promtool(), "test", "rules", str(file)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    return done.returncode == 0, one_line(
        done.stdout + done.stderr, skip=("Unit Testing:", "FAILED:")
    )


def one_line(text: str, skip: tuple[str, ...] = ()) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "; ".join(line for line in lines if line and not line.startswith(skip))[:600]


# -- dashboards -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Panel:
    """One PromQL query of a dashboard panel, from a dashboard's JSON file: the dashboard's title,
    the panel's, and the expression."""

    dashboard: str
    title: str
    expr: str


def dashboards(directory: Path) -> dict[str, list[Panel]]:
    found: dict[str, list[Panel]] = {}
    for path in sorted(directory.glob("*.json")):
        doc = json.loads(path.read_text())
        title = doc.get("title") or path.stem
        panels = [p for row in doc.get("panels", []) for p in [row, *row.get("panels", [])]]
        found[title] = [
            Panel(title, p.get("title", "?"), t["expr"])
            for p in panels
            for t in p.get("targets", [])
            if t.get("expr")
        ]
    return found


# -- the metrics an expression reads (a pint-style check, without a PromQL parser) -------------
_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "inf",
    "nan",
    "e",
}


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects: identifiers that are not functions, keywords or
    labels."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "{}", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "[]", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names
