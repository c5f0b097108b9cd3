"""Type classifiers that learn a repository's own labels from its labelled issues.

::

    title, body ─issue_text─▶ text ─features─▶ sparse vector ─linear model─▶ (type, confidence)

:class:`NgramClassifier` is the default: word 1- and 2-grams and character 3- and 4-grams,
hashed (so it keeps no vocabulary and trains in one pass), weighted by TF-IDF, under a logistic
regression fitted by stochastic gradient descent (a fixed number of passes, seeded, so a
retrain is reproducible and takes the same time); its class probability is the confidence
that ``min_confidence`` compares. A trained classifier saves as NumPy arrays
(:meth:`NgramClassifier.to_bytes`), never as a pickle, so loading a stored model runs no code.
Issue text is untrusted: it only ever becomes features, and its length is bounded first.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from autoissue._exceptions import LearningError

#: How much of a body is read: its start says what an issue is about (500 scored best of
#: 500, 1,000 and 2,000 in cross-validation, and is the fastest), bounded for giant bodies.
BODY_CHARS = 500
_FEATURES = 2**18
_WORD = r"(?u)\b\w+\b"  # one-letter words too: "a" or "C" can tell types apart
_FORMAT = "ngram-2"  # the saved layout; a model saved in another one is retrained


@dataclass(frozen=True)
class Prediction:
    """A classifier's answer for one issue: a type (``None``: it abstains) and its confidence."""

    label: str | None
    confidence: float


class TypeClassifier(Protocol):
    """What ``bench quality`` and triage need of a classifier: learn, then predict."""

    name: str

    def fit(self, issues: Sequence[tuple[str, str]], labels: Sequence[str]) -> None:
        """Learn from ``(title, body)`` pairs labelled ``labels``.

        Raises :class:`~autoissue.LearningError` when ``labels`` hold fewer than two types.
        """

    def predict(self, issues: Sequence[tuple[str, str]]) -> list[Prediction]:
        """One prediction per ``(title, body)`` pair, in order."""


def issue_text(title: str, body: str | None) -> str:
    """The text a classifier reads: the title, then the body's start.

    (Reading the title twice, to weigh it more, scored 0.755 against 0.763 once.)
    """
    return f"{title}\n{(body or '')[:BODY_CHARS]}"


def _texts(issues: Sequence[tuple[str, str]]) -> list[str]:
    return [issue_text(title, body) for title, body in issues]


def check_trainable(labels: Sequence[str]) -> None:
    """Raise :class:`~autoissue.LearningError` unless ``labels`` hold two types or more."""
    counts = Counter(labels)
    if len(counts) < 2:
        found = f"only {next(iter(counts))!r}" if counts else "no labelled issues"
        raise LearningError(f"learning types needs issues of at least two types; found {found}")


def best_predictions(probabilities: Any, classes: Any) -> list[Prediction]:
    """Each row's most probable class and its probability (columns in ``classes``' order)."""
    best = probabilities.argmax(axis=1)
    return [
        Prediction(str(classes[i]), float(p[i])) for i, p in zip(best, probabilities, strict=True)
    ]


class NgramClassifier:
    """Hashed word and character n-grams, TF-IDF weighted, under a logistic regression."""

    name = "ngram"

    def __init__(self, *, alpha: float = 1e-4) -> None:
        self._alpha = alpha
        self._model: Any = None

    def __repr__(self) -> str:
        state = "trained" if self._model is not None else "untrained"
        return f"<NgramClassifier alpha={self._alpha} {state}>"

    def fit(self, issues: Sequence[tuple[str, str]], labels: Sequence[str]) -> None:
        """Learn from ``(title, body)`` pairs labelled ``labels`` (two types at least)."""
        check_trainable(labels)
        model = _ngram_pipeline(self._alpha)
        model.fit(_texts(issues), list(labels))
        self._model = model

    def predict(self, issues: Sequence[tuple[str, str]]) -> list[Prediction]:
        """The most probable type of each issue, with its probability."""
        if self._model is None:
            raise LearningError("the classifier has not been trained")
        if not issues:
            return []
        return best_predictions(self._model.predict_proba(_texts(issues)), self._model.classes_)

    @property
    def classes(self) -> tuple[str, ...]:
        """The types the classifier learned, sorted; empty until trained."""
        return () if self._model is None else tuple(str(c) for c in self._model.classes_)

    def to_bytes(self) -> bytes:
        """The trained model as compressed NumPy arrays: what :meth:`from_bytes` reads."""
        if self._model is None:
            raise LearningError("the classifier has not been trained")
        import numpy as np  # noqa: PLC0415 - numpy comes with scikit-learn, imported late

        word, char, linear = _parts(self._model)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            format=np.array(_FORMAT),
            alpha=np.array(self._alpha),
            idf_word=word.idf_,
            idf_char=char.idf_,
            coef=linear.coef_,
            intercept=linear.intercept_,
            classes=np.array(self.classes),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> NgramClassifier:
        """A trained classifier from :meth:`to_bytes`'s output; it predicts as the saved one.

        Raises :class:`~autoissue.LearningError` for data in another layout or damaged.
        """
        arrays = _arrays(data)
        classifier = cls(alpha=float(arrays["alpha"]))
        model = _ngram_pipeline(classifier._alpha)
        word, char, linear = _parts(model)
        word.idf_, char.idf_ = arrays["idf_word"], arrays["idf_char"]
        linear.coef_, linear.intercept_ = arrays["coef"], arrays["intercept"]
        linear.classes_ = arrays["classes"].astype(object)
        linear.n_features_in_ = 2 * _FEATURES
        classifier._model = model
        return classifier


def _parts(model: Any) -> tuple[Any, Any, Any]:
    # The two TF-IDF weightings (word, character) and the linear model of a pipeline.
    union, linear = model.steps[0][1], model.steps[1][1]
    word, char = (pipeline.steps[1][1] for _, pipeline in union.transformer_list)
    return word, char, linear


def _arrays(data: bytes) -> dict[str, Any]:
    import numpy as np  # noqa: PLC0415 - numpy comes with scikit-learn, imported late

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in saved.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise LearningError(f"a saved classifier cannot be read: {error}") from None
    if str(arrays.get("format", "")) != _FORMAT:
        raise LearningError(f"a saved classifier is not in layout {_FORMAT!r}")
    return arrays


def _ngram_pipeline(alpha: float) -> Any:
    # Imported here: scikit-learn takes about a second to import, which no other command pays.
    from sklearn.feature_extraction.text import (  # noqa: PLC0415 - see above
        HashingVectorizer,
        TfidfTransformer,
    )
    from sklearn.linear_model import SGDClassifier  # noqa: PLC0415 - see above
    from sklearn.pipeline import make_pipeline, make_union  # noqa: PLC0415 - see above

    def hashed(**options: Any) -> Any:
        vectoriser = HashingVectorizer(
            n_features=_FEATURES, alternate_sign=False, norm=None, **options
        )
        return make_pipeline(vectoriser, TfidfTransformer(sublinear_tf=True))

    features = make_union(
        hashed(ngram_range=(1, 2), token_pattern=_WORD),
        hashed(analyzer="char", ngram_range=(3, 4)),  # twice as fast as 2-5, as good (docs)
    )
    # alpha 1e-4 and 30 passes: the best macro F1 of the choices cross-validated on NLBSE'24.
    model = SGDClassifier(loss="log_loss", alpha=alpha, max_iter=30, tol=None, random_state=0)
    return make_pipeline(features, model)
