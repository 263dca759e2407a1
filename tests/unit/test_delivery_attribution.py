"""The alert drill's attribution: a delivery record read and searched by receiver, status and the
drill's marker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbaverify.clients.deliveries import DeliveryRecord, parse
from nbaverify.errors import CheckError
from nbaverify.probes.alerting import delivered_to, sends_resolved
from nbaverify.sandbox import alert_sink
from nbaverify.sandbox.layout import Layout

DATA = Path(__file__).parent.parent / "data"
MARKER = "4a7d30199e3b"


def webhook_payload(receiver: str, status: str, marker: str = MARKER) -> dict:
    """Alertmanager's webhook payload (version 4), as a webhook logger would keep it."""
    labels = {"alertname": "NbaverifyDrill", "severity": "critical", "nbaverify_drill": marker}
    return {
        "version": "4",
        "receiver": receiver,
        "status": status,
        "groupLabels": {"alertname": "NbaverifyDrill"},
        "alerts": [{"status": status, "labels": labels, "annotations": {}}],
        "commonLabels": labels,
    }


def test_each_receiver_is_attributed_its_own_deliveries_only():
    entries = [
        webhook_payload("oncall-pager", "firing"),
        webhook_payload("devops", "firing", marker="0123456789ab"),  # another drill's
        webhook_payload("watchdog", "firing", marker="-"),  # everyone else's notifications
        webhook_payload("database-team", "resolved"),
    ]
    assert delivered_to(entries, MARKER, "firing") == {"oncall-pager"}
    assert delivered_to(entries, MARKER, "resolved") == {"database-team"}
    # whose, it does not say
    assert delivered_to([{"status": "firing", "text": MARKER}], MARKER, "firing") == set()


def test_a_receiver_sends_resolved_as_the_loaded_configuration_says():
    config = {
        "receivers": [
            {"name": "pager", "webhook_configs": [{"send_resolved": True, "url": "<secret>"}]},
            {"name": "mail", "email_configs": [{"send_resolved": False, "to": "a@b"}]},
            {
                "name": "both",
                "email_configs": [{"send_resolved": False}],
                "slack_configs": [{"send_resolved": True}],
            },
            {"name": "blackhole"},
        ]
    }
    assert [
        r for r in ("pager", "mail", "both", "blackhole", "missing") if sends_resolved(config, r)
    ] == ["pager", "both"]


def test_a_record_is_json_lines_or_an_array_and_a_torn_line_is_passed_over():
    lines = [
        json.dumps(webhook_payload("devops", "firing")),
        '{"receiver": "dev',
        json.dumps(webhook_payload("a", "firing")),
    ]
    assert [e["receiver"] for e in parse("\n".join(lines), "x")] == ["devops", "a"]
    assert [e["receiver"] for e in parse(json.dumps([webhook_payload("b", "resolved")]), "x")] == [
        "b"
    ]
    with pytest.raises(
        CheckError, match=r"the delivery record x is not JSON Lines nor a JSON array"
    ):
        parse("[{", "x")


def test_a_record_read_from_the_middle_may_start_its_cut_line_at_a_bracket():
    """The sink serves the newest 2 MB: the cut can land at a '[' inside a line, which is no JSON
    array (seen in CI)."""
    whole = json.dumps(webhook_payload("devops", "firing"))
    cut = whole[whole.index("[") :]
    text = "\n".join(
        [
            cut,
            json.dumps(webhook_payload("a", "resolved")),
            json.dumps(webhook_payload("b", "firing")),
        ]
    )
    assert [e["receiver"] for e in parse(text, "x")] == ["a", "b"]


def test_a_record_file_is_read_relative_to_the_profile_and_a_missing_one_named(tmp_path):
    (tmp_path / "got.jsonl").write_text(json.dumps(webhook_payload("devops", "firing")) + "\n")
    assert DeliveryRecord("got.jsonl", tmp_path, 1.0).entries()[0]["receiver"] == "devops"
    with pytest.raises(
        CheckError, match=r"the delivery record \S+/gone\.jsonl cannot be read: No such file"
    ):
        DeliveryRecord("gone.jsonl", tmp_path, 1.0).entries()


def test_the_sandbox_sink_reads_alertmanagers_own_mail(tmp_path):
    """A mail Alertmanager 0.25 sent (its default template, quoted-printable HTML), attributed
    through the deployed configuration's recipients."""
    (tmp_path / "alertmanager").mkdir()
    (tmp_path / "alertmanager" / "alertmanager.yml").write_text(
        "receivers:\n- name: devops\n  email_configs:\n  - to: devops@nba-stat-projections.com\n"
    )
    sink = alert_sink.Sink(Layout(tmp_path, 25430))
    mail = (DATA / "alertmanager-0.25-resolved.eml").read_text()
    entry = alert_sink.mail_entry(sink, ["devops@nba-stat-projections.com"], mail)
    assert (entry["receiver"], entry["status"]) == ("devops", "resolved")
    assert delivered_to([entry], MARKER, "resolved") == {"devops"}
    assert alert_sink.mail_entry(sink, ["someone@else"], mail)["receiver"] is None
