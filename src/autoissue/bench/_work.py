"""The triage workload every contender performs, defined once so all do exactly the same.

Per open issue (pull requests skipped): one GET of its comments, a classification costing
about a millisecond of CPU (real work in Python, holding the GIL like a real classifier),
and one POST of its labels. The labels follow from the issue's text alone, so the bench
can check every contender's result against the emulator's final state.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[a-z]+")
_KINDS = {
    "bug": frozenset({"bug", "crash", "error", "exception", "fails", "broken", "traceback"}),
    "enhancement": frozenset({"feature", "support", "add", "request", "allow", "option"}),
    "question": frozenset({"question", "how", "why", "what", "help"}),
    "documentation": frozenset({"docs", "documentation", "readme", "typo", "example"}),
}
BENCH_LABEL = "bench:triaged"
DEFAULT_CPU_MS = 1.0


def _scores(words: list[str]) -> Counter[str]:
    scores: Counter[str] = Counter()
    for word in words:
        for kind, vocabulary in _KINDS.items():
            if word in vocabulary:
                scores[kind] += 1
    return scores


def bench_labels(title: str, body: str | None, comments: Iterable[str], rounds: int) -> list[str]:
    """The labels the workload writes for one issue, after ``rounds`` passes of scoring.

    Every pass scores the same words, so the answer does not depend on ``rounds``; the
    passes are the CPU cost, set by :func:`calibrate` to about a millisecond.
    """
    text = " ".join([title, body or "", *comments]).lower()
    words = _WORD.findall(text)[:400]
    scores: Counter[str] = Counter()
    for _ in range(max(1, rounds)):
        scores = _scores(words)
    kind = max(sorted(scores), key=scores.__getitem__) if scores else "question"
    return [BENCH_LABEL, kind]


def calibrate(cpu_ms: float = DEFAULT_CPU_MS) -> int:
    """How many scoring passes cost about ``cpu_ms`` of CPU on a typical issue, here."""
    title = "Crash when saving a file with unicode name"
    body = " ".join(["the app fails with an error and a traceback when I save"] * 12)
    started = time.process_time()
    trial = 200
    bench_labels(title, body, ["same here", "any workaround?"], trial)
    per_round_ms = max((time.process_time() - started) * 1000 / trial, 1e-6)
    return max(1, round(cpu_ms / per_round_ms))
