"""``autoissue bench quality``: how often each type classifier is right, per repository.

For every repository of a labelled CSV, each contender learns from one part of its issues and
labels the rest: ``folds``-fold stratified cross-validation by default, or, with ``test``,
everything in the dataset against the second file's issues of the same repository. The score
is the macro F1 over the repository's types (an abstention counts as a miss), and a
contender's ``f1_macro`` is the mean over repositories, as the NLBSE'24 competition scores
it. ``keyword`` is the rule-based triage that needs no training; ``embedding`` needs the
``embeddings`` extra, and without it is skipped (``params["skipped"]`` says why).
"""

from __future__ import annotations

import pickle
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoissue._exceptions import LearningError
from autoissue.bench._contender import peak_rss
from autoissue.bench._report import BenchReport
from autoissue.learn import (
    EmbeddingClassifier,
    LabelledIssue,
    NgramClassifier,
    Prediction,
    TypeClassifier,
    embedding_unavailable,
    read_labelled_csv,
)
from autoissue.model import Issue
from autoissue.processors import classify

#: The contenders of the quality workload, in the order they run.
QUALITY_CONTENDERS = ("keyword", "ngram", "embedding")


class KeywordClassifier:
    """Today's rule-based triage as a contender: it learns nothing and abstains when unsure."""

    name = "keyword"

    def fit(self, issues: Sequence[tuple[str, str]], labels: Sequence[str]) -> None:
        """Nothing to learn: the keywords are fixed."""

    def predict(self, issues: Sequence[tuple[str, str]]) -> list[Prediction]:
        """The keyword type of each issue (``None`` where the words are unclear)."""
        answers = (classify(Issue(number=0, title=title, body=body)) for title, body in issues)
        return [Prediction(kind, confidence) for kind, confidence in answers]


_FACTORIES: dict[str, Callable[[], TypeClassifier]] = {
    "keyword": KeywordClassifier,
    "ngram": NgramClassifier,
    "embedding": EmbeddingClassifier,
}
#: Why a contender cannot run here (an optional package missing), or ``None`` when it can.
_AVAILABLE: dict[str, Callable[[], str | None]] = {"embedding": embedding_unavailable}


@dataclass(frozen=True)
class QualityBenchConfig:
    """What to score: the dataset, how to split it, which contenders, the abstention threshold."""

    dataset: Path
    test: Path | None = None
    folds: int = 5
    contenders: tuple[str, ...] = QUALITY_CONTENDERS
    min_confidence: float = 0.0
    seed: int = 0

    @classmethod
    def quick(cls, **overrides: Any) -> QualityBenchConfig:
        """Two folds: checks the workload runs end to end, its figures are not the goal's."""
        return cls(**({"folds": 2} | overrides))


@dataclass
class _Split:
    train: list[LabelledIssue]
    test: list[LabelledIssue]


@dataclass
class _Tally:
    truth: list[str] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    train_s: float = 0.0
    trained: int = 0
    predict_s: float = 0.0
    model_bytes: list[int] = field(default_factory=list)


def _by_repo(issues: Sequence[LabelledIssue]) -> dict[str, list[LabelledIssue]]:
    grouped: dict[str, list[LabelledIssue]] = defaultdict(list)
    for issue in issues:
        if issue.label:
            grouped[issue.repo].append(issue)
    return dict(grouped)


def _folds(issues: list[LabelledIssue], folds: int, seed: int) -> Iterator[_Split]:
    # Imported here, as in autoissue.learn: only this workload pays scikit-learn's import.
    from sklearn.model_selection import StratifiedKFold  # noqa: PLC0415 - see above

    labels = [issue.label for issue in issues]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(labels, labels):
        yield _Split([issues[i] for i in train], [issues[i] for i in test])


def _unsplittable(issues: list[LabelledIssue], folds: int) -> str | None:
    counts = Counter(issue.label for issue in issues)
    if len(counts) < 2:
        return f"only one type ({next(iter(counts))!r}): nothing to tell apart"
    label, fewest = min(sorted(counts.items()), key=lambda item: item[1])
    if fewest < folds:
        return f"{fewest} issue(s) of type {label!r}, fewer than the {folds} folds"
    return None


def _splits(config: QualityBenchConfig) -> tuple[dict[str, list[_Split]], dict[str, str]]:
    dataset = _by_repo(read_labelled_csv(config.dataset))
    if not dataset:
        raise LearningError(f"{config.dataset} holds no labelled issues")
    if config.test is not None:
        return _held_out(dataset, _by_repo(read_labelled_csv(config.test)))
    splits, skipped = {}, {}
    for repo, issues in sorted(dataset.items()):
        reason = _unsplittable(issues, config.folds)
        if reason is None:
            splits[repo] = list(_folds(issues, config.folds, config.seed))
        else:
            skipped[repo] = reason
    return splits, skipped


def _held_out(
    dataset: dict[str, list[LabelledIssue]], test: dict[str, list[LabelledIssue]]
) -> tuple[dict[str, list[_Split]], dict[str, str]]:
    splits, skipped = {}, {}
    for repo in sorted(dataset.keys() | test.keys()):
        if repo not in test:
            skipped[repo] = "no issues of this repository in the test file"
        elif repo not in dataset or len({i.label for i in dataset[repo]}) < 2:
            skipped[repo] = "fewer than two types to learn from in the dataset"
        else:
            splits[repo] = [_Split(dataset[repo], test[repo])]
    return splits, skipped


def _texts(issues: Sequence[LabelledIssue]) -> list[tuple[str, str]]:
    return [(issue.title, issue.body) for issue in issues]


def _score_split(name: str, split: _Split, tally: _Tally) -> None:
    classifier = _FACTORIES[name]()
    started = time.perf_counter()
    classifier.fit(_texts(split.train), [issue.label for issue in split.train])
    tally.train_s += time.perf_counter() - started
    tally.trained += len(split.train)
    started = time.perf_counter()
    tally.predictions += classifier.predict(_texts(split.test))
    tally.predict_s += time.perf_counter() - started
    tally.truth += [issue.label for issue in split.test]
    tally.model_bytes.append(_stored_size(classifier))


def _stored_size(classifier: TypeClassifier) -> int:
    # What the backend keeps of a trained model; a classifier without a saved form, pickled.
    if isinstance(classifier, NgramClassifier):
        return len(classifier.to_bytes())
    return len(pickle.dumps(classifier))


def _abstaining(predictions: list[Prediction], min_confidence: float) -> list[str | None]:
    return [p.label if p.confidence >= min_confidence else None for p in predictions]


def f1_macro(truth: Sequence[str], predicted: Sequence[str | None]) -> float:
    """Macro F1 over the types in ``truth``; an abstention (``None``) is a miss for its type."""
    from sklearn.metrics import f1_score  # noqa: PLC0415 - imported when scored, as above

    answers = ["" if label is None else label for label in predicted]
    score = f1_score(truth, answers, labels=sorted(set(truth)), average="macro", zero_division=0)
    return float(score)


def _result(name: str, tallies: dict[str, _Tally], min_confidence: float) -> dict[str, Any]:
    answers = {repo: _abstaining(t.predictions, min_confidence) for repo, t in tallies.items()}
    truth = [label for tally in tallies.values() for label in tally.truth]
    predicted = [label for repo in tallies for label in answers[repo]]
    by_repo = {
        repo: round(f1_macro(tally.truth, answers[repo]), 4) for repo, tally in tallies.items()
    }
    return {
        "contender": name,
        "repos": len(tallies),
        "issues": len(truth),
        "f1_macro": round(statistics.fmean(by_repo.values()), 4),
        "f1_by_repo": by_repo,
        **_coverage(truth, predicted),
        **_costs(list(tallies.values()), len(truth)),
    }


def _coverage(truth: list[str], predicted: list[str | None]) -> dict[str, float]:
    answered = [(t, p) for t, p in zip(truth, predicted, strict=True) if p is not None]
    right = sum(t == p for t, p in answered)
    return {
        "coverage": round(len(answered) / len(truth), 4),
        "precision": round(right / len(answered), 4) if answered else 0.0,
    }


def _costs(tallies: list[_Tally], predicted: int) -> dict[str, float]:
    train_s = sum(tally.train_s for tally in tallies)
    predict_s = sum(tally.predict_s for tally in tallies)
    trained = sum(tally.trained for tally in tallies)
    sizes = [size for tally in tallies for size in tally.model_bytes]
    return {
        "train_s": round(train_s, 3),
        "train_issues_per_s": round(trained / train_s, 1) if train_s > 0 else 0.0,
        "predictions_per_s": round(predicted / predict_s, 1) if predict_s > 0 else 0.0,
        "model_kb": round(statistics.fmean(sizes) / 1024, 1),
    }


def _contender(
    name: str, splits: dict[str, list[_Split]], config: QualityBenchConfig
) -> dict[str, Any]:
    tallies = {repo: _Tally() for repo in splits}
    for repo, repo_splits in splits.items():
        for split in repo_splits:
            _score_split(name, split, tallies[repo])
    # The process's peak so far: contenders run in turn, so it includes those before.
    rss_mb = round(peak_rss() / 2**20, 1)
    return _result(name, tallies, config.min_confidence) | {"rss_peak_mb": rss_mb}


def _unavailable(contenders: Sequence[str]) -> dict[str, str]:
    reasons = {name: _AVAILABLE[name]() for name in contenders if name in _AVAILABLE}
    return {name: reason for name, reason in reasons.items() if reason is not None}


def run_quality_bench(config: QualityBenchConfig) -> BenchReport:
    """Score every contender on every repository of the dataset; one result per contender.

    Raises :class:`~autoissue.LearningError` when the files cannot be read or no repository
    can be scored; a repository that cannot be (one type only, too few issues of a type for
    the folds), and a contender that cannot run here (its optional packages missing), is
    named under ``params["skipped"]`` with the reason.
    """
    splits, skipped = _splits(config)
    if not splits:
        raise LearningError(f"no repository of {config.dataset} can be scored: {skipped}")
    missing = _unavailable(config.contenders)
    params = _params(config) | {"skipped": skipped | missing}
    report = BenchReport(workload="quality", params=params)
    report.results = [
        _contender(name, splits, config) for name in config.contenders if name not in missing
    ]
    return report


def _params(config: QualityBenchConfig) -> dict[str, Any]:
    return {
        "dataset": str(config.dataset),
        "test": str(config.test) if config.test else None,
        "folds": None if config.test else config.folds,
        "min_confidence": config.min_confidence,
        "seed": config.seed,
    }
