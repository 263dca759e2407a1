"""Rule: routing several alerts at once gives each the receivers amtool gives it alone, in the order
asked, over the deployed file and over a loaded configuration's text alike."""

from concurrent.futures import wait

import pytest

from nbaverify.errors import CheckError
from nbaverify.probes import alerting
from nbaverify.shipped import MONITORING

CONFIG = MONITORING / "alertmanager" / "alertmanager.yml"

pytestmark = pytest.mark.skipif(alerting.amtool() is None, reason="amtool is not installed")

LABELS = [
    {"alertname": "HighErrorRate", "severity": "critical"},
    {"alertname": "SlowQueries", "severity": "warning", "team": "database"},
    {"alertname": "HighMemory", "severity": "warning"},
    {"alertname": "Breach", "severity": "critical", "team": "security"},
]


def test_each_answer_is_its_own_query_s():
    alone = [alerting.routes(CONFIG, labels) for labels in LABELS]
    assert len({",".join(r) for r in alone}) > 1, "the queries must route apart to prove the order"
    assert alerting.routes_each([(CONFIG, labels) for labels in LABELS]) == alone


def test_a_loaded_configuration_routes_as_its_file():
    with alerting.config_file(CONFIG.read_text()) as loaded:
        assert (
            alerting.routes_each([(CONFIG, LABELS[0]), (loaded, LABELS[0])])
            == [alerting.routes(CONFIG, LABELS[0])] * 2
        )


def _started(config, labels):
    alerting.start(config, labels)
    wait(future for key, future in list(alerting._STARTED.items()) if key[1] == str(config))


def test_answers_started_early_are_read_not_asked_again(tmp_path, monkeypatch):
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG.read_text())
    alone = [alerting.routes(CONFIG, labels) for labels in LABELS]
    _started(config, LABELS)

    def refused(*args):
        raise AssertionError(f"amtool was asked again: {args}")

    monkeypatch.setattr(alerting, "_amtool", refused)
    assert alerting.routes_each([(config, labels) for labels in LABELS]) == alone
    # the same labels in another order are the same question
    assert alerting.routes(config, dict(reversed(LABELS[1].items()))) == alone[1]
    assert alerting.check_config(config) is None


ROUTED = """
route:
  receiver: devops
  routes:
    - matchers: ['team="database"']
      receiver: database
receivers:
  - name: devops
  - name: database
"""


def test_a_file_changed_since_is_asked_again(tmp_path):
    config = tmp_path / "alertmanager.yml"
    config.write_text(ROUTED)
    _started(config, [LABELS[1]])
    assert alerting.routes(config, LABELS[1]) == ["database"]
    config.write_text(ROUTED.replace('team="database"', 'team="nobody"'))
    assert alerting.routes(config, LABELS[1]) == ["devops"]


def test_a_failure_started_early_is_raised_where_it_is_read(tmp_path):
    config = tmp_path / "alertmanager.yml"
    config.write_text("route: [this is not a route\n")
    _started(config, [LABELS[0]])
    with pytest.raises(CheckError, match=f"amtool config routes test on {config} failed"):
        alerting.routes(config, LABELS[0])
    assert alerting.check_config(config)
