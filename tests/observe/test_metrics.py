from __future__ import annotations

import json
import re
from pathlib import Path

import psutil
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from autoissue.observe import METRICS
from autoissue.observe._metrics import ReadingCollector
from autoissue.observe._sources import ProcessStatistics, Reading
from autoissue.serve import WebhookStatistics
from tests.observe.conftest import controller_statistics, full_reading

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "autoissue.json"
BASE_UNITS = ("_seconds", "_bytes", "_total", "_info")
# Gauges that count things carry no unit, as in Prometheus's own naming guide.
COUNTS = re.compile(
    r"_(limit|in_flight|waiting|hard_cap|optimum|cap|mode|remaining|depth|delayed|retrying"
    r"|dead_letters|workers|queued)$"
)


def exported(reading: Reading) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = generate_latest(ReadingCollector(reading)).decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def family_of(sample: str) -> str:
    return sample[: -len("_count")] if sample.endswith("_count") else sample


def test_every_documented_metric_is_exported_from_a_full_reading() -> None:
    names = {family_of(name) for name in exported(full_reading())}
    assert names == set(METRICS)


def test_names_are_namespaced_and_in_base_units() -> None:
    for name in METRICS:
        assert name.startswith("autoissue_")
        assert name.endswith(BASE_UNITS) or COUNTS.search(name), name
        assert "_ms" not in name
        assert "milliseconds" not in name


def test_labels_are_bounded_descriptions_never_issues_or_urls() -> None:
    for samples in exported(full_reading()).values():
        for labels, _ in samples:
            assert set(labels) <= {
                "repo",
                "processor",
                "reason",
                "endpoint",
                "status",
                "quantile",
                "mode",
                "resource",
                "priority",
                "state",
                "outcome",
            }
            values = [value for name, value in labels.items() if name != "quantile"]
            assert not any("://" in value for value in values)
            # Digits only as HTTP statuses: never an issue number.
            assert all(len(value) == 3 for value in values if value.isdigit())


def test_values_come_straight_from_the_snapshots() -> None:
    samples = exported(full_reading())
    assert samples["autoissue_issues_processed_total"] == [({}, 200.0)]
    assert ({"reason": "closed"}, 40.0) in samples["autoissue_issues_skipped_total"]
    assert samples["autoissue_concurrency_limit"] == [({}, 12.0)]
    assert ({"quantile": "0.95"}, 0.12) in samples["autoissue_issue_latency_seconds"]
    assert samples["autoissue_issue_latency_seconds_count"] == [({}, 250.0)]
    assert samples["autoissue_github_budget_remaining"] == [({"resource": "core"}, 4321.0)]
    assert samples["autoissue_github_wait_seconds_total"] == [({"reason": "points"}, 1.5)]
    by_quantile = samples["autoissue_github_request_latency_seconds"]
    latency = {labels["quantile"]: value for labels, value in by_quantile}
    assert latency == {"0.5": 0.02, "0.95": 0.08, "0.99": 0.12}
    assert ({"priority": "high"}, 4.0) in samples["autoissue_queue_depth"]
    assert samples["autoissue_queue_dead_letters"] == [({}, 1.0)]
    assert ({"state": "busy"}, 1.0) in samples["autoissue_pool_workers"]
    assert ({"state": "stopping"}, 0.0) in samples["autoissue_pool_workers"]
    mode = {labels["mode"]: v for labels, v in samples["autoissue_github_rate_limit_mode"]}
    assert mode == {"unknown": 0.0, "limited": 1.0, "unlimited": 0.0}


def test_a_receivers_deliveries_are_exported_by_outcome_and_reason() -> None:
    samples = exported(full_reading())
    assert samples["autoissue_webhook_deliveries_received_total"] == [({}, 12.0)]
    outcomes = {labels["outcome"]: v for labels, v in samples["autoissue_webhook_deliveries_total"]}
    assert outcomes == {
        "accepted": 5.0,
        "duplicate": 1.0,
        "rejected": 2.0,
        "ignored": 2.0,
        "failed": 1.0,
    }
    assert samples["autoissue_webhook_deliveries_in_flight"] == [({}, 1.0)]
    assert samples["autoissue_webhook_enqueued_total"] == [({}, 4.0)]
    rejected = samples["autoissue_webhook_deliveries_rejected_total"]
    assert rejected == [({"reason": "signature"}, 2.0)]
    ignored = samples["autoissue_webhook_deliveries_ignored_total"]
    assert ignored == [({"reason": "action"}, 1.0), ({"reason": "ping"}, 1.0)]
    failed = samples["autoissue_webhook_deliveries_failed_total"]
    assert failed == [({"reason": "unavailable"}, 1.0)]
    last = samples["autoissue_webhook_last_delivery_timestamp_seconds"]
    assert last == [({}, 1.7e9 - 30)]
    sweeps = samples["autoissue_sweeps_total"]
    assert sweeps == [({"repo": "acme/gadgets"}, 2.0), ({"repo": "acme/widgets"}, 3.0)]


def test_a_receiver_before_its_first_delivery_exports_zeros_and_no_last_time() -> None:
    samples = exported(full_reading(webhooks=WebhookStatistics(), sweeps={}))
    assert "autoissue_webhook_last_delivery_timestamp_seconds" not in samples
    outcomes = samples["autoissue_webhook_deliveries_total"]
    assert [value for _, value in outcomes] == [0.0] * 5
    assert "autoissue_webhook_deliveries_rejected_total" not in samples  # no reason yet
    assert "autoissue_sweeps_total" not in samples


def test_absent_sources_export_only_the_run_and_the_process() -> None:
    reading = Reading(at=0.0, wall=0.0, process=ProcessStatistics.of(psutil.Process()))
    assert set(exported(reading)) == {
        "autoissue_run_info",
        "autoissue_process_resident_memory_bytes",
        "autoissue_process_cpu_seconds_total",
    }


def test_a_controller_without_cap_or_fit_leaves_those_gauges_out() -> None:
    reading = full_reading(controller=controller_statistics(hard_cap=None, predicted_optimum=None))
    names = set(exported(reading))
    assert "autoissue_concurrency_hard_cap" not in names
    assert "autoissue_concurrency_predicted_optimum" not in names
    infinite = full_reading(controller=controller_statistics(predicted_optimum=float("inf")))
    assert "autoissue_concurrency_predicted_optimum" not in exported(infinite)


def test_openmetrics_encoding_accepts_the_families() -> None:
    text = generate_openmetrics(ReadingCollector(full_reading())).decode()
    assert text.endswith("# EOF\n")
    assert 'autoissue_issue_latency_seconds{quantile="0.5"} 0.04' in text


def test_the_collector_says_what_it_holds() -> None:
    assert repr(ReadingCollector(full_reading())) == "<ReadingCollector at=100.000>"


def referenced_metrics(dashboard: dict[str, object]) -> set[str]:
    text = json.dumps(dashboard)
    return set(re.findall(r"\bautoissue_[a-z0-9_]+", text))


def test_every_metric_the_grafana_dashboard_queries_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    referenced = referenced_metrics(dashboard)
    assert len(referenced) > 30
    assert referenced <= set(exported(full_reading()))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert all('instance=~"$instance"' in expr for expr in exprs)
