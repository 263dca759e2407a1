"""The CI examples users copy (ci/) parse, and every nbaverify command in them is one the CLI
accepts."""

import re
import shlex

import pytest
import yaml

from nbaverify.cli import build_parser
from nbaverify.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from nbaverify.shipped import CHECKOUT as PROJECT_ROOT

CI = PROJECT_ROOT / "ci"
YAML_FILES = sorted(CI.rglob("*.yaml")) + sorted(CI.rglob("*.yml"))


SHELL_KEYS = {"run", "args", "command"}  # a workflow step's script, a container's command line


def nbaverify_commands(node, in_shell: bool = False) -> list[str]:
    """Every `nbaverify ...` line of a shell script in a YAML document."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += nbaverify_commands(value, key in SHELL_KEYS)
    elif isinstance(node, list):
        for value in node:
            found += nbaverify_commands(value, in_shell)
    elif isinstance(node, str) and in_shell:
        found += [
            line.strip() for line in node.splitlines() if line.strip().startswith("nbaverify ")
        ]
    return found


def without_shell(command: str) -> list[str]:
    """argv of a shell command line, each (nested) "$(...)" stood in for by a date: the shell's
    business."""
    out, depth, i = [], 0, 0
    while i < len(command):
        if command.startswith("$(", i):
            if depth == 0:
                out.append("2026-01-01")
            depth, i = depth + 1, i + 2
            continue
        if depth and command[i] == ")":
            depth -= 1
        elif depth == 0:
            out.append(command[i])
        i += 1
    return shlex.split("".join(out))[1:]


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(CI)))
def test_every_example_parses(path):
    assert [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def test_every_nbaverify_command_in_the_examples_is_accepted_by_the_cli():
    commands = [
        c
        for path in YAML_FILES
        for doc in yaml.safe_load_all(path.read_text())
        for c in nbaverify_commands(doc)
    ]
    assert len(commands) >= 6  # the gate, four cadences, the report
    for command in commands:
        build_parser().parse_args(without_shell(command))  # SystemExit (a failure) if not


def test_one_cronjob_per_cadence_with_a_valid_schedule():
    docs = list(yaml.safe_load_all((CI / "kubernetes" / "cronjobs.yaml").read_text()))
    jobs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "CronJob"}
    tiers = {
        re.search(r"nbaverify check (\w+)", " ".join(nbaverify_commands(job)) or "x").group(1)
        for job in jobs.values()
        if "check" in " ".join(nbaverify_commands(job))
    }
    assert tiers == {"daily", "weekly", "monthly", "quarterly"}
    for name, job in jobs.items():
        assert len(job["spec"]["schedule"].split()) == 5, name
        assert job["spec"]["concurrencyPolicy"] == "Forbid", name


def test_ci_readme_points_at_the_one_exit_code_contract():
    """The contract is declared once (nbaverify.exit_codes), its page generated; ci/README.md links
    it."""
    from nbaverify.exit_codes import CONTRACT

    assert "../docs/reference/exit-codes.md" in (CI / "README.md").read_text()
    check = {code: meaning for command, code, meaning in CONTRACT if command == "nbaverify check"}
    assert (
        "no check of a failing severity failed" in check[EXIT_OK]
        and "a waiver has expired" in check[EXIT_FAILED]
    )
    assert "bad profile" in check[EXIT_USAGE] and check[EXIT_INTERRUPTED].startswith(
        "interrupted (SIGINT"
    )


def test_the_image_installs_the_wheel_holds_no_checkout_and_runs_unprivileged():
    text = (CI / "Dockerfile").read_text()
    final = text.rsplit("\nFROM ", 1)[1]  # the image itself: the stage after the wheel's build
    assert "pip install" in final and "nbaverify-*.whl" in final and "-e ." not in text
    assert (
        "COPY . " not in final
        and "COPY --from=wheel /dist /dist" in final
        and "rm -rf /dist" in final
    )
    assert re.search(r"^USER 10001$", final, re.MULTILINE)
