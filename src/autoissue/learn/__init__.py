"""Learning an issue's type from a repository's own labelled issues.

Classifiers (:class:`NgramClassifier`, the default; :class:`EmbeddingClassifier`, with the
``embeddings`` extra) behind one small contract (:class:`TypeClassifier`), and the labelled
datasets they are measured on (:func:`read_labelled_csv`).
"""

from __future__ import annotations

from autoissue.learn._classifier import (
    BODY_CHARS,
    NgramClassifier,
    Prediction,
    TypeClassifier,
    check_trainable,
    issue_text,
)
from autoissue.learn._dataset import CSV_COLUMNS, LabelledIssue, read_labelled_csv
from autoissue.learn._embedding import EmbeddingClassifier, embedding_unavailable

__all__ = [
    "BODY_CHARS",
    "CSV_COLUMNS",
    "EmbeddingClassifier",
    "LabelledIssue",
    "NgramClassifier",
    "Prediction",
    "TypeClassifier",
    "check_trainable",
    "embedding_unavailable",
    "issue_text",
    "read_labelled_csv",
]
