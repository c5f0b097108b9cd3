"""Seeded synthetic repository content: issues, pull requests, labels, authors and comments.

Everything is a pure function of the seed. Bodies and comment texts come from fixed pools and are
shared between records, so 100,000 issues cost little memory and generate in about a second.
"""

from __future__ import annotations

import random

from autoissue.emulator._models import Comment, IssueRecord, PullInfo

__all__ = ["DEFAULT_LABELS", "EPOCH_END", "EPOCH_START", "LOGINS", "generate"]

#: Seeded items are created between these instants (2022-01-01 and 2025-09-30, UTC).
EPOCH_START = 1_640_995_200
EPOCH_END = 1_759_190_400

#: name -> (color, description, default): GitHub's defaults, plus the priority labels.
DEFAULT_LABELS: dict[str, tuple[str, str | None, bool]] = {
    "bug": ("d73a4a", "Something isn't working", True),
    "documentation": ("0075ca", "Improvements or additions to documentation", True),
    "duplicate": ("cfd3d7", "This issue or pull request already exists", True),
    "enhancement": ("a2eeef", "New feature or request", True),
    "good first issue": ("7057ff", "Good for newcomers", True),
    "help wanted": ("008672", "Extra attention is needed", True),
    "invalid": ("e4e669", "This doesn't seem right", True),
    "question": ("d876e3", "Further information is requested", True),
    "wontfix": ("ffffff", "This will not be worked on", True),
    "critical": ("b60205", None, False),
    "urgent": ("d93f0b", None, False),
    "p0": ("b60205", None, False),
    "p1": ("d93f0b", None, False),
    "p2": ("fbca04", None, False),
    "p3": ("0e8a16", None, False),
    "high": ("d93f0b", None, False),
    "low": ("c2e0c6", None, False),
    "priority: high": ("d93f0b", "Needs attention soon", False),
}

LOGINS: tuple[str, ...] = (
    "alice-dev",
    "bob42",
    "carol-codes",
    "dmitri-k",
    "eve-sec",
    "frank_ops",
    "grace-h",
    "heidi-qa",
    "ivan-petrov",
    "judy-ml",
    "kenji-t",
    "laura-v",
    "mallory-x",
    "niaj",
    "oscar-w",
    "peggy-lee",
    "quinn-r",
    "rupert-s",
    "sybil-d",
    "trent-ci",
    "ursula-m",
    "victor-n",
    "walter-o",
    "xena-p",
    "yusuf-q",
    "zoe-r",
    "octo-bot",
    "renovate-helper",
)

_COMPONENTS = (
    "parser",
    "CLI",
    "scheduler",
    "HTTP client",
    "cache",
    "config loader",
    "plugin system",
    "logger",
    "database adapter",
    "auth module",
    "exporter",
    "web UI",
    "retry logic",
    "worker pool",
)
_TITLES = {
    "bug": (
        "Crash when {c} receives an empty input",
        "{c} fails with TypeError on Python 3.12",
        "Error: connection reset in {c} after upgrade to v{v}",
        "Segfault in {c} under heavy load",
        "{c} raises KeyError when the option is missing",
        "Regression: {c} fails silently since v{v}",
        "Memory leak in {c} during long runs",
    ),
    "feature": (
        "Feature request: add support for YAML in the {c}",
        "Add support for async callbacks in {c}",
        "Allow configuring timeouts for the {c}",
        "[Feature] expose metrics from the {c}",
        "Proposal: pluggable backends for the {c}",
    ),
    "question": (
        "How do I configure the {c} for production?",
        "Question: is the {c} thread-safe?",
        "How do I disable retries in the {c}?",
        "Why does the {c} ignore my environment variables?",
    ),
    "docs": (
        "Docs: typo in the README section about the {c}",
        "Documentation for the {c} is out of date",
        "README example for the {c} does not run",
        "Docs: clarify how the {c} handles unicode (日本語, émoji 🎉)",
    ),
    "chore": (
        "Bump dependencies used by the {c}",
        "Refactor the {c} for readability",
        "CI is flaky on the {c} tests",
    ),
}
_KIND_WEIGHTS = (("bug", 40), ("feature", 25), ("question", 15), ("docs", 12), ("chore", 8))
_KIND_LABEL = {
    "bug": "bug",
    "feature": "enhancement",
    "question": "question",
    "docs": "documentation",
}
_PRIORITIES = ("critical", "urgent", "p0", "p1", "p2", "p3", "high", "low", "priority: high")
_EXTRAS = (
    ("good first issue", 0.05),
    ("help wanted", 0.05),
    ("wontfix", 0.02),
    ("duplicate", 0.02),
    ("invalid", 0.01),
)

_BODIES: tuple[str | None, ...] = (
    None,
    "",
    "It crashes.",
    "### Steps to reproduce\n\n1. Install v2.3\n2. Run `widgets sync --all`\n3. See the error\n\n"
    "### Expected\nNo error.\n\n### Actual\n```\nTraceback (most recent call last):\n"
    "  File \"widgets/cli.py\", line 42, in main\n    run(args)\nKeyError: 'name'\n```\n",
    "This fails on every run since the last release. Happens on Linux and macOS.\n\n"
    "```python\nfrom widgets import Client\nClient(timeout=None).sync()\n```\n",
    "It would be great to add support for this. Many users asked for it in discussions.\n\n"
    "- [ ] design\n- [ ] implementation\n- [ ] docs\n",
    "How do I set this up? The docs do not say, and the README example errors out.",
    "There is a typo in the README: *recieve* should be *receive*.",
    "Überprüfung fehlgeschlagen — the error message is not translated. 文字化け appears too. 🙏",
    "> Quoted from the forum: the scheduler stops after 10 000 jobs.\n\nSame here. **Urgent** "
    "for us, production is down.",
    "Long report follows.\n\n" + "The worker pool keeps growing and never shrinks. " * 40,
    "See #12 and #34; maybe a duplicate. Logs:\n\n```\nERROR 2024-05-01 worker 3 died\n"
    "ERROR 2024-05-01 worker 4 died\n```",
    "Proposal\n========\n\n| option | default |\n|---|---|\n"
    "| `retries` | 3 |\n| `timeout` | 10 |\n",
)
_COMMENTS = (
    "Thanks for the report! Can you share your version?",
    "I can reproduce this on main.",
    "+1, same problem here.",
    "Fixed in #123, please try the next release.",
    "Any update on this?",
    "This looks like a duplicate of an older issue.",
    "Could you add a minimal example? ```py\nprint('hi')\n```",
)


def generate(seed: int, count: int) -> list[IssueRecord]:
    """Build ``count`` items numbered from 1: about 10% pull requests, some closed or locked."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    span = EPOCH_END - EPOCH_START
    kinds = [kind for kind, _ in _KIND_WEIGHTS]
    weights = [weight for _, weight in _KIND_WEIGHTS]
    label_sets: dict[tuple[str, ...], tuple[str, ...]] = {}
    records = []
    for number in range(1, count + 1):
        created = EPOCH_START + span * (number - 1) // max(count, 1) + rng.randrange(3600)
        kind = rng.choices(kinds, weights)[0]
        record = _issue(rng, number, kind, created, label_sets)
        _vary(rng, record)
        records.append(record)
    return records


def _issue(
    rng: random.Random,
    number: int,
    kind: str,
    created: int,
    label_sets: dict[tuple[str, ...], tuple[str, ...]],
) -> IssueRecord:
    title = rng.choice(_TITLES[kind]).format(c=rng.choice(_COMPONENTS), v=rng.randrange(1, 9))
    labels = _labels(rng, kind)
    record = IssueRecord(
        number=number,
        id=1_000_000 + number,
        title=title,
        body=rng.choice(_BODIES),
        user=rng.choice(LOGINS),
        labels=label_sets.setdefault(labels, labels),
        created_at=created,
    )
    if rng.random() < 0.10:
        _make_pull(rng, record)
    return record


def _labels(rng: random.Random, kind: str) -> tuple[str, ...]:
    labels: list[str] = []
    if kind in _KIND_LABEL and rng.random() < 0.7:
        labels.append(_KIND_LABEL[kind])
    if rng.random() < 0.35:
        labels.append(rng.choice(_PRIORITIES))
    labels.extend(name for name, share in _EXTRAS if rng.random() < share)
    return tuple(labels)


def _make_pull(rng: random.Random, record: IssueRecord) -> None:
    slug = "".join(ch if ch.isalnum() else "-" for ch in record.title.lower())[:30].strip("-")
    record.title = "Fix: " + record.title
    record.labels = ()
    record.pull = PullInfo(
        head=f"contrib/{record.number}-{slug}",
        base="main",
        draft=rng.random() < 0.1,
        head_sha=f"{rng.getrandbits(160):040x}",
        merged_at=None,
    )


def _vary(rng: random.Random, record: IssueRecord) -> None:
    """Give the record a later update, comments, and perhaps a closed or locked state."""
    age = EPOCH_END - record.created_at
    record.updated_at = record.created_at + int(age * rng.random() ** 3)
    record.comments = _comments(rng, record, rng.choices(range(5), (55, 20, 12, 8, 5))[0])
    if rng.random() < 0.3:
        record.close(record.updated_at, rng.choice(("completed", "completed", "not_planned")))
        if record.pull and rng.random() < 0.7:
            record.pull.merged_at = record.updated_at
    if rng.random() < 0.03:
        record.locked = True
        record.lock_reason = rng.choice(("resolved", "off-topic", "too heated", "spam"))


def _comments(rng: random.Random, record: IssueRecord, count: int) -> list[Comment]:
    step = max((record.updated_at - record.created_at) // (count + 1), 1)
    return [
        Comment(
            id=record.number * 10 + index,
            user=rng.choice(LOGINS),
            body=rng.choice(_COMMENTS),
            created_at=record.created_at + step * (index + 1),
        )
        for index in range(count)
    ]
