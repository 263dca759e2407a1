"""Profiles and expectations: good ones load, every bad one names its file and key."""

import textwrap

import pytest

from nbaverify.config import load_expectations, load_target
from nbaverify.errors import ConfigError

ENV = {"NBA_JWT_SECRET": "s3cret-value", "NBA_DB_DSN": "postgresql://mon:pw-123456@db:5432/nba"}


def profile(tmp_path, body: str):
    path = tmp_path / "t.toml"
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """
    name = "staging"
    environment = "staging"
    [api]
    base_url = "https://api.example.com/"
    jwt_secret_env = "NBA_JWT_SECRET"
    [database]
    dsn_env = "NBA_DB_DSN"
    [expectations.database.replication]
    max_lag = "16MB and 10s"
"""


def test_a_good_profile_loads_with_secrets_from_the_environment(tmp_path):
    target = load_target(str(profile(tmp_path, GOOD)), environ=ENV)
    assert target.name == "staging" and not target.is_production
    assert target.profile.api.base_url == "https://api.example.com"
    assert target.secret("api.jwt_secret_env") == "s3cret-value"
    assert target.expectations["database.replication.max_lag"] == "16MB and 10s"
    # the default stays
    assert target.expectations["database.replication.min_streaming_replicas"] == 1
    assert "database.replication.max_lag" in target.expectations.overridden


def test_secrets_never_show_in_repr(tmp_path):
    target = load_target(str(profile(tmp_path, GOOD)), environ=ENV)
    assert "s3cret" not in repr(target) and "pw-123456" not in repr(target)


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        (
            'name = "x"\nenvironment = "x"\n[api]\nbase_ulr = "https://a"\n',
            "api.base_ulr",
            "unknown key",
        ),
        ('name = "x"\nenvironment = "x"\n[api]\nbase_url = 8443\n', "api.base_url", "string"),
        ('name = "x"\nenvironment = "x"\n[api]\nbase_url = "ftp://a"\n', "api.base_url", "http"),
        ('name = "x"\n', "environment", "missing"),
        ('name = "x"\nenvironment = "x"\ncolour = "red"\n', "colour", "unknown key"),
        (
            'name = "x"\nenvironment = "x"\n[kubernetes]\nsource = "cloud"\n',
            "kubernetes.source",
            "cluster",
        ),
        (
            'name = "x"\nenvironment = "x"\n[expectations.api]\ntimeout = 3\n',
            "expectations.api.timeout",
            "unknown expectation",
        ),
        (
            'name = "x"\nenvironment = "x"\n[expectations.api]\ntimeout_s = "3"\n',
            "expectations.api.timeout_s",
            "must be float",
        ),
        (
            'name = "x"\nenvironment = "x"\n[expectations]\napi = 3\n',
            "expectations.api",
            "must be a table",
        ),
        (
            (
                'name = "x"\nenvironment = "x"\n[expectations.database.replication]\nmax_lag = "16'
                ' parsecs"\n'
            ),
            "expectations.database.replication.max_lag",
            "use sizes like 16MB",
        ),
    ],
)
def test_a_bad_profile_names_file_and_key(tmp_path, body, key, words):
    path = profile(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_target(str(path), environ=ENV)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: ") and words in message
    assert "\n" not in message


def test_malformed_toml_names_the_file(tmp_path):
    path = profile(tmp_path, 'name = "x\n')
    with pytest.raises(ConfigError, match=rf"^{path}: not valid TOML"):
        load_target(str(path), environ=ENV)


def test_a_missing_env_var_names_the_key_and_the_variable(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_target(str(profile(tmp_path, GOOD)), environ={"NBA_JWT_SECRET": "x"})
    assert "database.dsn_env" in str(caught.value) and "NBA_DB_DSN is not set" in str(caught.value)


def test_an_empty_secret_is_named_empty_not_missing(tmp_path):
    """An empty JWT secret would verify tokens signed with an empty key: refused at load, and said
    as it is."""
    with pytest.raises(ConfigError) as caught:
        load_target(str(profile(tmp_path, GOOD)), environ={**ENV, "NBA_JWT_SECRET": ""})
    assert "api.jwt_secret_env" in str(caught.value) and "NBA_JWT_SECRET is set but empty" in str(
        caught.value
    )


def test_an_unknown_target_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"no such file; known targets: .*sandbox"):
        load_target("no-such-target", environ={})


def test_an_absent_section_is_simply_not_configured(tmp_path):
    target = load_target(
        str(profile(tmp_path, 'name = "x"\nenvironment = "production"\n')), environ={}
    )
    assert target.profile.api is None and target.is_production


def test_expectations_defaults_cite_the_guide():
    expect = load_expectations()
    assert expect["api.slow_response_ms"] == 1000
    with pytest.raises(KeyError):
        expect["api.nothing"]


@pytest.mark.parametrize(
    ("section", "key", "value", "said"),
    [
        ("api", "ca_file", "certs/missing.pem", "no such file"),
        ("kubernetes", "kubeconfig", "/nowhere/kubeconfig", "no such file"),
        ("kubernetes", "manifests", "k8s-gone", "no such folder"),
        ("alertmanager", "config_file", "am.yml", "no such file"),
        ("alertmanager", "deliveries", "/nowhere/at/all/deliveries.jsonl", "no folder"),
    ],
)
def test_a_path_the_profile_names_is_checked_once_at_load(tmp_path, section, key, value, said):
    """One line naming the file and the key, before any check runs (not a FileNotFoundError in each
    check)."""
    extra = {
        "api": 'base_url = "https://api.example.com"\n',
        "kubernetes": 'source = "cluster"\n',
        "alertmanager": 'url = "http://am:9093"\n',
    }[section]
    profile = tmp_path / "t.toml"
    profile.write_text(
        f'name = "t"\nenvironment = "test"\n\n[{section}]\n{extra}{key} = "{value}"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_target(str(profile), environ={})
    message = str(caught.value)
    assert message.startswith(f"{profile}: {section}.{key}: {said}") and "\n" not in message


def test_paths_resolve_from_the_profile_and_an_expectation_path_is_checked(tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    profile = tmp_path / "t.toml"
    profile.write_text(
        'name = "t"\nenvironment = "test"\n\n[api]\nbase_url = "https://api.example.com"\nca_file ='
        ' "ca.pem"\n\n[expectations.monitoring]\nrules_dir = "rules-not-here"\n'
    )
    with pytest.raises(
        ConfigError,
        match=r"expectations\.monitoring\.rules_dir: no such file or folder: \S+rules-not-here",
    ):
        load_target(str(profile), environ={})
    profile.write_text(profile.read_text().split("\n[expectations")[0])
    assert load_target(str(profile), environ={}).profile.api.ca_file == str(tmp_path / "ca.pem")
