"""``GET /metrics`` beside the deliveries: unsigned, read only, and the delivery counters move."""

from __future__ import annotations

import pytest

from autoissue import FakeClock

from .conftest import Serve, UnavailableAdmission

pytestmark = pytest.mark.timeout(30)

DELIVERIES = "autoissue_webhook_deliveries_total"


async def test_a_signed_delivery_and_a_refused_one_move_their_counters(
    serve: Serve, clock: FakeClock
) -> None:
    hook = await serve(metrics=True)
    before = await hook.samples()
    assert before["autoissue_webhook_deliveries_received_total"] == 0
    assert before[f'{DELIVERIES}{{outcome="accepted"}}'] == 0
    assert "autoissue_webhook_last_delivery_timestamp_seconds" not in before

    assert (await hook.deliver()).status == 202
    accepted = await hook.samples()
    assert accepted[f'{DELIVERIES}{{outcome="accepted"}}'] == 1
    assert accepted["autoissue_webhook_enqueued_total"] == 1
    assert accepted["autoissue_webhook_last_delivery_timestamp_seconds"] == clock.now

    assert (await hook.deliver(secret="wrong")).status == 401
    refused = await hook.samples()
    assert refused[f'{DELIVERIES}{{outcome="rejected"}}'] == 1
    assert refused['autoissue_webhook_deliveries_rejected_total{reason="signature"}'] == 1
    assert refused[f'{DELIVERIES}{{outcome="accepted"}}'] == 1
    # Scrapes are neither signed nor counted as deliveries.
    assert refused["autoissue_webhook_deliveries_received_total"] == 2
    assert refused["autoissue_webhook_deliveries_in_flight"] == 0
    assert "autoissue_run_info" in refused


async def test_a_delivery_that_could_not_be_queued_is_counted_as_unavailable(
    serve: Serve,
) -> None:
    hook = await serve(admission=UnavailableAdmission(), metrics=True)
    assert (await hook.deliver()).status == 503
    samples = await hook.samples()
    assert samples[f'{DELIVERIES}{{outcome="failed"}}'] == 1
    assert samples['autoissue_webhook_deliveries_failed_total{reason="unavailable"}'] == 1
    assert (await hook.health())["failed_by"] == {"unavailable": 1}


async def test_ignored_deliveries_are_counted_by_reason(serve: Serve) -> None:
    hook = await serve(metrics=True)
    assert (await hook.deliver("ping", {})).status == 200
    samples = await hook.samples()
    assert samples[f'{DELIVERIES}{{outcome="ignored"}}'] == 1
    assert samples['autoissue_webhook_deliveries_ignored_total{reason="ping"}'] == 1


async def test_openmetrics_is_served_when_asked_for(serve: Serve) -> None:
    hook = await serve(metrics=True)
    text = await hook.metrics("application/openmetrics-text; version=1.0.0")
    assert text.endswith("# EOF\n")
    assert "# TYPE autoissue_webhook_deliveries counter" in text
    assert 'autoissue_webhook_deliveries_total{outcome="accepted"} 0.0' in text


async def test_metrics_are_only_read_and_only_where_given(serve: Serve) -> None:
    hook = await serve(metrics=True)
    async with hook.session.post(f"{hook.base_url}/metrics", data=b"{}") as answer:
        assert answer.status == 405
    assert hook.receiver.statistics().received == 0
    bare = await serve()
    async with bare.session.get(f"{bare.base_url}/metrics") as answer:
        assert answer.status == 404
