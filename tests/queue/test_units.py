"""The pure parts: DSN parsing, retry and priority policies, the meter."""

from __future__ import annotations

import itertools
import pickle
import random
from pathlib import Path

import pytest

from autoissue import BackendUnavailableError, ConfigurationError, QueueFullError
from autoissue.backend import DEFAULT_SQLITE_PATH, BackendSpec
from autoissue.model import Priority
from autoissue.queue import (
    ErrorKind,
    MemoryQueue,
    PriorityPolicy,
    RetryPolicy,
    idempotency_key,
    parse_priority,
)
from autoissue.queue._meter import Meter
from autoissue.queue._types import idempotency_parts


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("memory://", BackendSpec("memory")),
        ("sqlite://", BackendSpec("sqlite", path=DEFAULT_SQLITE_PATH)),
        ("sqlite:///run/q.db", BackendSpec("sqlite", path=Path("run/q.db"))),
        ("sqlite:////srv/q.db", BackendSpec("sqlite", path=Path("/srv/q.db"))),
        ("redis://h:6380/2", BackendSpec("redis", url="redis://h:6380/2", prefix="autoissue")),
        (
            "redis://:pw@h/0?prefix=ai:run1&ssl_cert_reqs=none",
            BackendSpec("redis", url="redis://:pw@h/0?ssl_cert_reqs=none", prefix="ai:run1"),
        ),
    ],
)
def test_dsns_parse(dsn: str, expected: BackendSpec) -> None:
    assert BackendSpec.from_dsn(dsn) == expected


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("state.db", "not a DSN"),
        ("mysql://x", "unknown scheme"),
        ("sqlite://relative.db", "three slashes"),
        ("redis://h/abc", "not a number"),
        ("redis://h/0?prefix=", "non-empty prefix"),
        ("redis://:secret@h/x", "redis://:\\*\\*\\*@h/x"),
    ],
)
def test_bad_dsns_say_what_is_wrong(dsn: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BackendSpec.from_dsn(dsn)


def test_describe_never_shows_a_password() -> None:
    assert (
        BackendSpec.from_dsn("redis://u:pw@h:1/0").describe()
        == "redis://u:***@h:1/0?prefix=autoissue"
    )
    assert BackendSpec.from_dsn("sqlite:///a.db").describe() == "sqlite:///a.db"
    assert BackendSpec.from_dsn("memory://").describe() == "memory://"


def test_full_jitter_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_s=1, cap_s=8, rng=random.Random(3))
    ceilings = [max(policy.backoff(n) for _ in range(200)) for n in (1, 2, 3, 4, 6)]
    assert ceilings[0] <= 1 < ceilings[1] <= 2 < ceilings[2] <= 4 < ceilings[3] <= 8
    assert ceilings[4] <= 8


def test_decisions_by_error_kind() -> None:
    policy = RetryPolicy(max_attempts=3, base_s=2, rng=random.Random(0))
    assert policy.decide(attempts=1, kind=ErrorKind.PERMANENT, now=0).dead
    assert policy.decide(attempts=3, kind=ErrorKind.TRANSIENT, now=0).reason == "failed 3 attempts"
    assert (
        policy.decide(attempts=1, kind=ErrorKind.RATE_LIMITED, now=5, retry_after=60).retry_at == 65
    )
    assert policy.decide(attempts=1, kind=ErrorKind.TRANSIENT, now=0, retry_after=30).retry_at == 30
    limited = policy.decide(attempts=1, kind=ErrorKind.RATE_LIMITED, now=0)
    assert limited.retry_at is not None
    assert 0 <= limited.retry_at <= 2


def test_policies_reject_nonsense() -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigurationError):
        RetryPolicy(base_s=5, cap_s=1)
    with pytest.raises(ConfigurationError):
        PriorityPolicy(lower_share=0.9)
    with pytest.raises(ConfigurationError):
        MemoryQueue(max_depth=0)
    with pytest.raises(ConfigurationError):
        MemoryQueue(lease_s=0)


def test_lower_priorities_get_their_share_under_a_flood() -> None:
    policy = PriorityPolicy(lower_share=0.1)
    plan = policy.plan(0, dict.fromkeys(Priority, 10_000), 3000)
    counts = {p: plan.count(p) for p in Priority}
    assert counts[Priority.CRITICAL] == 2700
    assert counts[Priority.HIGH] == counts[Priority.MEDIUM] == counts[Priority.LOW] == 100
    assert PriorityPolicy(lower_share=0).order(9) == tuple(Priority)
    assert policy.plan(0, {Priority.LOW: 2}, 5) == [Priority.LOW, Priority.LOW]


@pytest.mark.parametrize("share", [0, 0.1, 0.25, 0.5])
def test_runs_of_slots_try_what_each_slot_would(share: float) -> None:
    policy = PriorityPolicy(lower_share=share)
    for tick in range(13):
        for n in (1, 2, 3, 9, 30):
            runs = policy.runs(tick, n)
            assert [order for order, slots in runs for _ in range(slots)] == [
                policy.order(slot) for slot in range(tick, tick + n)
            ]
            assert all(slots > 0 for _, slots in runs)
            # Neighbouring runs differ: a run is as long as the order stays the same.
            assert all(a[0] != b[0] for a, b in itertools.pairwise(runs))


def test_priority_names_and_keys() -> None:
    assert parse_priority("normal") is Priority.MEDIUM
    assert parse_priority(" High ") is Priority.HIGH
    with pytest.raises(ConfigurationError, match="unknown priority"):
        parse_priority("urgent-ish")
    assert idempotency_key(12, "2024-01-01T00:00:00Z", "triage") == "triage:12@2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("issue", "processor"), [("acme/widgets#12", "triage"), ("o/r#1", "plugin:with:colons")]
)
def test_idempotency_parts_take_a_key_apart(issue: str, processor: str) -> None:
    key = idempotency_key(issue, "2024-01-01T00:00:00Z", processor)
    assert idempotency_parts(key) == (issue, "2024-01-01T00:00:00Z", processor)


@pytest.mark.parametrize("key", ["", "plain", "no-colon@2024", "no:at-sign"])
def test_idempotency_parts_of_a_key_made_otherwise_are_none(key: str) -> None:
    assert idempotency_parts(key) is None


def test_meter_percentiles_and_rate() -> None:
    meter = Meter()
    assert meter.wait_ms() == {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    assert meter.acks_per_s(0) == 0.0
    meter.ack(0.0, 10)
    meter.ack(100.0, 30)
    assert meter.acks_per_s(110.0) == pytest.approx(3.0)
    assert len(meter.acks) == 1


def test_queue_errors_pickle_across_processes() -> None:
    for error in (QueueFullError("full"), BackendUnavailableError("gone")):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy)) == (type(error), str(error))
