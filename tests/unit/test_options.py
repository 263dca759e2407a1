"""One table of options: the CLI and the plugin expose the same set, each with help, env var and
config key, resolved command line > environment > project configuration > default."""

import pytest

from nbaverify import options
from nbaverify.cli import build_parser
from nbaverify.errors import ConfigError


def cli_flags() -> set[str]:
    check = build_parser()._subparsers._group_actions[0].choices["check"]
    return {
        flag for action in check._actions for flag in action.option_strings if flag.startswith("--")
    } - {"--help"}


def plugin_flags(pytestconfig) -> set[str]:
    group = pytestconfig._parser.getgroup("nbaverify")
    return {name for opt in group.options for name in opt.names() if name.startswith("--")} - {
        "--tier"
    }


def test_the_cli_and_the_plugin_expose_the_same_options(pytestconfig):
    assert cli_flags() == plugin_flags(pytestconfig) == {o.flag for o in options.OPTIONS}


@pytest.mark.parametrize("option", options.OPTIONS, ids=lambda o: o.flag)
def test_every_option_has_help_an_env_var_and_a_config_key(option):
    assert option.help and option.env.startswith("NBAVERIFY_") and option.key == option.flag[2:]
    assert (
        option.env in option.full_help()
        and f"`{option.key}` in nbaverify.toml" in option.full_help()
    )


def test_precedence_is_cli_then_env_then_config_then_default(tmp_path):
    config = {"report-dir": "from-config", "area": ["database"]}
    env = {"NBAVERIFY_REPORT_DIR": "from-env"}
    assert options.resolve("report_dir", "from-cli", environ=env, config=config) == "from-cli"
    assert options.resolve("report_dir", None, environ=env, config=config) == "from-env"
    assert options.resolve("report_dir", None, environ={}, config=config) == "from-config"
    assert options.resolve("report_dir", None, environ={}, config={}) is None
    assert options.resolve("fail_on", None, environ={}, config={}) == "critical"
    assert options.resolve("area", [], environ={}, config=config) == ["database"]
    assert options.resolve("checks", None, environ={"NBAVERIFY_CHECKS": "a:b"}, config={}) == [
        "a",
        "b",
    ]


def test_the_project_configuration_comes_from_nbaverify_toml_or_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbaverify]\ntarget = "staging"\nchecks = ["our_checks"]\n'
    )
    assert options.project_config(tmp_path) == (
        {"target": "staging", "checks": ["our_checks"]},
        str(tmp_path / "pyproject.toml"),
    )
    (tmp_path / "nbaverify.toml").write_text('fail-on = "warning"\n')
    assert options.project_config(tmp_path)[0] == {"fail-on": "warning"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('report_dir = "x"\n', "report_dir: unknown option; known: allow, area"),
        ('area = "database"\n', "area: must be a list of strings, got 'database'"),
        ('fail-on = "sometimes"\n', "'sometimes' is not one of critical, info, never, warning"),
    ],
)
def test_a_bad_project_configuration_names_file_and_key(tmp_path, text, problem):
    (tmp_path / "nbaverify.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        options.project_config(tmp_path)
    assert str(caught.value).startswith(str(tmp_path / "nbaverify.toml")) and problem in str(
        caught.value
    )


def test_a_missing_extra_names_the_pip_command():
    from nbaverify import extras
    from nbaverify.errors import MissingExtra

    with pytest.raises(MissingExtra) as caught:
        extras.require("load", ("locust", "no_such_module_here"))
    assert (
        str(caught.value)
        == "the load extra is not installed (no no_such_module_here); pip install 'nbaverify[load]'"
    )


def test_every_environment_variable_is_declared():
    """A person finds every NBAVERIFY_* variable in the option table or the settings
    (docs/reference/options.md)."""
    import re

    from nbaverify import options
    from nbaverify.shipped import CHECKOUT

    used = {
        name
        for path in (CHECKOUT / "nbaverify").rglob("*.py")
        for name in re.findall(r"NBAVERIFY_[A-Z][A-Z_]*[A-Z]", path.read_text())
    }
    declared = (
        {o.env for o in options.OPTIONS}
        | {s.env for s in options.SETTINGS}
        | set(options.INTERNAL_ENV)
    )
    assert used - declared == set()


def test_load_shares_the_target_and_run_id_but_never_takes_allow_from_configuration(
    tmp_path, monkeypatch
):
    from nbaverify.cli import LOAD_SHARED, resolved

    (tmp_path / "nbaverify.toml").write_text(
        'target = "staging"\nrun-id = "q4"\nallow = ["disruptive"]\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBAVERIFY_TARGET", raising=False)
    monkeypatch.delenv("NBAVERIFY_RUN_ID", raising=False)
    args = build_parser().parse_args(["load", "--profile", "quarterly"])
    resolved(args, only=LOAD_SHARED)
    # production needs --allow on the line
    assert (args.target, args.run_id, args.allow) == ("staging", "q4", [])
    monkeypatch.setenv("NBAVERIFY_TARGET", "prod")
    args = build_parser().parse_args(["load", "--target", "sandbox"])
    resolved(args, only=LOAD_SHARED)
    assert args.target == "sandbox"  # the command line first
    args = build_parser().parse_args(["load"])
    resolved(args, only=LOAD_SHARED)
    assert args.target == "prod"
