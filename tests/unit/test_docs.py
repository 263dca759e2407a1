"""The docs' reference pages are generated from the code, and are current: a check, a fault, an
option or an exit code never changes without its page (regenerate with `python -m
nbaverify.docs`)."""

from nbaverify import docs, exit_codes


def test_the_generated_pages_are_current():
    assert docs.stale() == [], "run: .venv/bin/python -m nbaverify.docs"


def test_the_checks_page_holds_each_check_with_its_proof():
    page = docs.pages()["checks.md"]
    assert "### check_token_refused\n" in page
    assert "[`jwt_alg_none`](faults.md#jwt_alg_none)" in page
    assert "Guide: Security Best Practices / Authentication & Authorization / API Security" in page


def test_every_exit_code_a_command_returns_is_in_the_contract():
    codes = {code for _, code, _ in exit_codes.CONTRACT}
    assert codes == {
        exit_codes.EXIT_OK,
        exit_codes.EXIT_FAILED,
        exit_codes.EXIT_USAGE,
        exit_codes.EXIT_NOT_RUNNING,
        exit_codes.EXIT_INTERRUPTED,
    }
    assert "| `nbaverify sandbox status` | 0 | running |" in docs.pages()["exit-codes.md"]


def test_the_options_page_is_the_option_table_and_the_parsers():
    page = docs.pages()["options.md"]
    assert "| `--fail-on LEVEL` | `NBAVERIFY_FAIL_ON` | `fail-on` | critical |" in page
    assert (
        "| `NBAVERIFY_STATE_DIR` |" in page
        and "### nbaverify sandbox up" in page
        and "### nbaverify explain" in page
    )
