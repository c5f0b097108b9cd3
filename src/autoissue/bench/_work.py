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
from collections.abc import Iterable, Sequence

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


def calibrate(cpu_ms: float = DEFAULT_CPU_MS, issues: Sequence[tuple[str, str | None]] = ()) -> int:
    """How many scoring passes make one issue cost about ``cpu_ms`` of CPU, here.

    ``issues`` are (title, body) pairs of the workload's own issues: the cost is then timed on
    them, so the mean issue costs ``cpu_ms``; without them, on a typical issue. What an issue
    costs besides its passes (reading its words) counts towards ``cpu_ms`` too.
    """
    sample = spread(issues, _SAMPLE) or [_TYPICAL]
    comments = () if issues else ("same here", "any workaround?")
    once = cost_ms(sample, 1, comments)
    many = cost_ms(sample, _TRIAL, comments)
    per_round = max((many - once) / (_TRIAL - 1), 1e-6)
    return max(1, round((cpu_ms - once + per_round) / per_round))


def spread(issues: Sequence[tuple[str, str | None]], size: int) -> list[tuple[str, str | None]]:
    """About ``size`` of ``issues``, evenly spread over them."""
    return list(issues[:: max(1, len(issues) // size)])


def cost_ms(
    issues: Sequence[tuple[str, str | None]], rounds: int, comments: Iterable[str] = ()
) -> float:
    """The mean CPU milliseconds of scoring one of ``issues`` at ``rounds`` passes, here."""
    started = time.process_time()
    for title, body in issues:
        bench_labels(title, body, comments, rounds)
    return (time.process_time() - started) * 1000 / max(len(issues), 1)


_TYPICAL = (
    "Crash when saving a file with unicode name",
    " ".join(["the app fails with an error and a traceback when I save"] * 12),
)
_SAMPLE = 100
_TRIAL = 20
