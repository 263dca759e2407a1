"""Rule: routing several alerts at once gives each the receivers amtool gives it alone, in the order
asked, over the deployed file and over a loaded configuration's text alike."""

import pytest

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
