"""Every exit code nbaverify's commands return, declared once: what a scheduler or a CI step may
rely on. `CONTRACT` is the table docs/reference/exit-codes.md is generated from."""

from __future__ import annotations

EXIT_OK = 0  # nothing of a failing severity failed
EXIT_FAILED = 1  # something of a failing severity failed, or could not run
EXIT_USAGE = 2  # the invocation is wrong (profile, waivers, arguments): nothing ran
EXIT_NOT_RUNNING = 3  # `sandbox status`: not running, as `systemctl status` says
EXIT_INTERRUPTED = 4  # SIGINT or SIGTERM stopped the run; its reports say what ran

CONTRACT: list[tuple[str, int, str]] = [
    (
        "nbaverify check",
        EXIT_OK,
        (
            "no check of a failing severity failed (`--fail-on`, default `critical`: warnings "
            "may have), and no waiver has expired"
        ),
    ),
    (
        "nbaverify check",
        EXIT_FAILED,
        (
            "a check of a failing severity failed or could not run (target unreachable), "
            "or a waiver has expired; or the sandbox could not start"
        ),
    ),
    (
        "nbaverify check",
        EXIT_USAGE,
        (
            "bad profile, expectations, waivers file or usage; an unwritable report "
            "directory; or no check matched the selection: fix the invocation, no check ran"
        ),
    ),
    (
        "nbaverify check",
        EXIT_INTERRUPTED,
        (
            "interrupted (SIGINT, or SIGTERM from a cancelled job or a deadline): the "
            "run stopped at once and still wrote its reports, marked "
            '`"interrupted": true`, with what ran and what did not (`not_run`)'
        ),
    ),
    ("nbaverify load", EXIT_OK, "every threshold held"),
    (
        "nbaverify load",
        EXIT_FAILED,
        (
            "a threshold breached, the run aborted, no request was made, the target "
            "rate-limited the load, or the API did not answer /health"
        ),
    ),
    (
        "nbaverify load",
        EXIT_USAGE,
        "bad profile, bad usage, or production without `--allow disruptive`",
    ),
    (
        "nbaverify load",
        EXIT_INTERRUPTED,
        (
            "interrupted: Locust stopped, its CSV files and the report of what it "
            "measured kept, verdict `INTERRUPTED`"
        ),
    ),
    ("nbaverify report", EXIT_OK, "the compliance report was written"),
    ("nbaverify report", EXIT_FAILED, "no evidence record in the period"),
    ("nbaverify report", EXIT_USAGE, "bad arguments (a date, a missing directory)"),
    ("nbaverify checks, explain", EXIT_OK, "the catalogue was printed"),
    (
        "nbaverify checks, explain",
        EXIT_USAGE,
        "no such check, a tier and area with no check, or a missing --checks folder",
    ),
    ("nbaverify sandbox up, down", EXIT_OK, "done"),
    (
        "nbaverify sandbox up, down",
        EXIT_FAILED,
        "a step failed; the line says which and what to do",
    ),
    ("nbaverify sandbox status", EXIT_OK, "running"),
    ("nbaverify sandbox status", EXIT_NOT_RUNNING, "not running"),
]


def markdown_table() -> str:
    lines = ["| command | exit | meaning |", "|---|---|---|"]
    previous = None
    for command, code, meaning in CONTRACT:
        lines.append(f"| {'' if command == previous else f'`{command}`'} | {code} | {meaning} |")
        previous = command
    return "\n".join(lines) + "\n"
