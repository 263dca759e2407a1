import pytest

from nbaverify.probes.monitoring import metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('rate(http_requests_total{status=~"5.."}[5m]) > 0.1', {"http_requests_total"}),
        (
            (
                "histogram_quantile(0.95, sum by (le)"
                " (rate(http_request_duration_seconds_bucket[5m]))) > 1"
            ),
            {"http_request_duration_seconds_bucket"},
        ),
        ("up == 0", {"up"}),
        (
            "pg_replication_slots_pg_wal_lsn_diff > 16 * 1024 * 1024",
            {"pg_replication_slots_pg_wal_lsn_diff"},
        ),
        (
            (
                'predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs"}[1h], 4 * 3600) <'
                " 0 and node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.2"
            ),
            {"node_filesystem_avail_bytes", "node_filesystem_size_bytes"},
        ),
        (
            (
                '(sum(rate(http_requests_total{status=~"5.."}[5m])) or vector(0)) /'
                " sum(rate(http_requests_total[5m]))"
            ),
            {"http_requests_total"},
        ),
        (
            "sum(rate(cache_hits_total[5m])) / clamp_min(sum(rate(cache_misses_total[5m])), 1e-9)",
            {"cache_hits_total", "cache_misses_total"},
        ),
        ("sum without (instance) (up) offset 5m", {"up"}),
    ],
)
def test_metric_names_finds_every_selected_metric(expr, names):
    assert metric_names(expr) == names
