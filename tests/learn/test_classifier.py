"""The n-gram classifier learns types from labelled issues and bounds what it reads."""

from __future__ import annotations

import pytest

from autoissue import LearningError
from autoissue.learn import BODY_CHARS, NgramClassifier, Prediction, check_trainable, issue_text
from tests.learn._corpus import corpus_rows


def _pairs(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(row["title"], row["body"]) for row in rows]


def _trained(per_type: int = 20) -> NgramClassifier:
    rows = corpus_rows(("acme/a",), per_type=per_type)
    classifier = NgramClassifier()
    classifier.fit(_pairs(rows), [row["label"] for row in rows])
    return classifier


def test_it_learns_types_it_was_shown() -> None:
    classifier = _trained()
    held_out = corpus_rows(("acme/a",), per_type=10, seed=99)
    predictions = classifier.predict(_pairs(held_out))
    right = sum(p.label == row["label"] for p, row in zip(predictions, held_out, strict=True))
    assert right / len(held_out) >= 0.9


def test_confidence_is_the_probability_of_the_type_it_names() -> None:
    (prediction,) = _trained().predict([("crash segfault traceback", "it fails with exception")])
    assert prediction.label == "bug"
    assert 1 / 3 < prediction.confidence <= 1.0


def test_it_predicts_one_answer_per_issue_in_order() -> None:
    issues = [("how why", "explain help"), ("add support", "option allow"), ("crash", "broken")]
    labels = [p.label for p in _trained().predict(issues)]
    assert labels == ["question", "feature", "bug"]


def test_predicting_nothing_gives_nothing() -> None:
    assert _trained().predict([]) == []


def test_untrained_it_refuses_to_predict() -> None:
    with pytest.raises(LearningError, match="not been trained"):
        NgramClassifier().predict([("t", "b")])


def test_one_type_only_cannot_be_learned() -> None:
    with pytest.raises(LearningError, match="at least two types; found only 'bug'"):
        NgramClassifier().fit([("a", ""), ("b", "")], ["bug", "bug"])


def test_no_labelled_issue_cannot_be_learned() -> None:
    with pytest.raises(LearningError, match="found no labelled issues"):
        check_trainable([])


def test_empty_bodies_and_non_english_text_are_classified() -> None:
    predictions = _trained().predict([("", ""), ("Приложение падает", ""), ("崩溃了", "错误")])
    assert all(isinstance(p, Prediction) and p.label for p in predictions)


def test_the_text_read_is_the_title_twice_and_a_bounded_body() -> None:
    text = issue_text("Crash", "x" * (BODY_CHARS * 10))
    assert text.startswith("Crash\nCrash\n")
    assert len(text) == len("Crash\nCrash\n") + BODY_CHARS
    assert issue_text("T", None) == "T\nT\n"


def test_its_repr_says_whether_it_is_trained() -> None:
    assert "untrained" in repr(NgramClassifier())
    assert "trained" in repr(_trained(per_type=3))
