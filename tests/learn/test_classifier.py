"""The n-gram classifier learns types from labelled issues and bounds what it reads."""

from __future__ import annotations

import io

import numpy as np
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


def test_the_text_read_is_the_title_and_a_bounded_body() -> None:
    text = issue_text("Crash", "x" * (BODY_CHARS * 10))
    assert text.startswith("Crash\nxxx")
    assert len(text) == len("Crash\n") + BODY_CHARS
    assert issue_text("T", None) == "T\n"


def test_its_repr_says_whether_it_is_trained() -> None:
    assert "untrained" in repr(NgramClassifier())
    assert "trained" in repr(_trained(per_type=3))


def test_a_saved_classifier_predicts_exactly_as_the_trained_one() -> None:
    classifier = _trained()
    held_out = _pairs(corpus_rows(("acme/a",), per_type=10, seed=42))
    saved = classifier.to_bytes()
    restored = NgramClassifier.from_bytes(saved)
    assert restored.predict(held_out) == classifier.predict(held_out)
    assert restored.classes == classifier.classes == ("bug", "feature", "question")
    assert b"pickle" not in saved
    assert len(saved) < 2_000_000  # compressed arrays: the untouched features cost nothing


def test_an_untrained_classifier_cannot_be_saved() -> None:
    assert NgramClassifier().classes == ()
    with pytest.raises(LearningError, match="has not been trained"):
        NgramClassifier().to_bytes()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a zip file", "cannot be read"),
        (b"", "cannot be read"),
        (b"PK\x03\x04broken", "cannot be read"),
    ],
)
def test_damaged_saved_data_is_a_learning_error(data: bytes, message: str) -> None:
    with pytest.raises(LearningError, match=message):
        NgramClassifier.from_bytes(data)


def test_data_saved_in_another_layout_is_refused() -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, format=np.array("ngram-0"), coef=np.zeros(3))
    with pytest.raises(LearningError, match="not in layout 'ngram-2'"):
        NgramClassifier.from_bytes(buffer.getvalue())
