"""The seeded repository: deterministic, varied, realistic enough to triage."""

from __future__ import annotations

import re
from collections import Counter

from autoissue.emulator._data import DEFAULT_LABELS, generate


def _summary(seed: int) -> list[tuple[object, ...]]:
    return [
        (
            r.number,
            r.title,
            r.body,
            r.user,
            r.labels,
            r.state,
            r.locked,
            r.updated_at,
            [c.body for c in r.comments],
            r.pull.head if r.pull else None,
        )
        for r in generate(seed, 300)
    ]


def test_same_seed_same_data_other_seed_other_data() -> None:
    assert _summary(7) == _summary(7)
    assert _summary(7) != _summary(8)


def test_a_realistic_mix() -> None:
    records = generate(0, 2000)
    assert [r.number for r in records] == list(range(1, 2001))
    pulls = sum(1 for r in records if r.pull)
    assert 150 < pulls < 250
    assert 400 < sum(1 for r in records if r.state == "closed") < 800
    assert any(r.locked for r in records)
    bodies = [r.body for r in records]
    assert None in bodies
    assert "" in bodies
    assert any(body and "```" in body for body in bodies)
    assert any(body and re.search(r"[^\x00-\x7f]", body) for body in bodies)
    titles = " ".join(r.title.lower() for r in records)
    for word in (
        "crash",
        "error",
        "fails",
        "add support",
        "feature request",
        "how do i",
        "docs",
        "typo",
        "readme",
    ):
        assert word in titles, word
    labels = Counter(name for r in records for name in r.labels)
    assert set(labels) <= set(DEFAULT_LABELS)
    for name in ("bug", "enhancement", "documentation", "question", "p1", "priority: high"):
        assert labels[name] > 0, name
    assert sum(len(r.comments) for r in records) > 500
    assert all(r.created_at <= r.updated_at for r in records)
    assert all(c.created_at >= r.created_at for r in records for c in r.comments)


def test_records_describe_themselves() -> None:
    record = generate(0, 3)[2]
    assert repr(record).startswith("IssueRecord(pull #3")
    assert repr(record.pull).startswith("PullInfo(head='contrib/3-")
    commented = next(r for r in generate(0, 50) if r.comments)
    assert repr(commented.comments[0]).startswith("Comment(id=")
