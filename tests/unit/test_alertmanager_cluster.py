"""What the instances of a clustered Alertmanager disagree on
(probes.alerting.cluster_disagreements): each said of the instance that differs, against the
profile's first."""

from nbaverify.probes.alerting import cluster_disagreements

A, B, C = "http://am-0:9093", "http://am-1:9093", "http://am-2:9093"


def status(state="ready", members=2, config="route: {receiver: oncall}"):
    return {
        "cluster": {"status": state, "peers": [{"name": f"p{n}"} for n in range(members)]},
        "config": {"original": config},
    }


def test_a_cluster_that_agrees_says_nothing():
    assert cluster_disagreements([(A, status(), {"s1"}), (B, status(), {"s1"})]) == []
    # one named: its peers are not counted
    assert cluster_disagreements([(A, status(members=3), set())]) == []


def test_a_split_is_said_of_both_sides():
    problems = cluster_disagreements(
        [(A, status(members=1), set()), (B, status(state="disabled", members=0), set())]
    )
    assert problems == [
        f"{A} sees 1 cluster member(s), expected 2 (every instance of [alertmanager])",
        (
            f"{B} runs without gossip (cluster disabled): it shares no silences and no notification"
            " log with the other instance(s), so an alert sent to both is notified twice and a"
            " silence set on one misses the other"
        ),
    ]


def test_settling_drifted_configuration_and_silences_are_each_named():
    problems = cluster_disagreements(
        [
            (A, status(members=3), {"s1", "s2"}),
            (B, status(state="settling", members=3), {"s1", "s2"}),
            (C, status(members=3, config="route: {receiver: old}"), {"s1", "s9"}),
        ]
    )
    assert problems == [
        f"{B}: cluster settling",
        f"{C} has loaded another configuration than {A} (a deploy reached one instance)",
        f"{C} disagrees with {A} on the active silences (lacks s2) (has s9 that {A} lacks)",
    ]
