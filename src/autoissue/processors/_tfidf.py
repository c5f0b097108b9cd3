"""TF-IDF vectors of issue text, stored column by column in named shared memory.

The matrix has one L2-normalised row per issue and one column per vocabulary word. It is kept as
compressed sparse columns (``indptr``, ``rows``, ``weights``) in
:class:`~autoissue.pool.SharedArray` segments, and its vocabulary as
:class:`~autoissue.pool.SharedStrings`, so a pool worker attaches the whole index by name
instead of receiving a copy. Cosine similarity of a query with every row is one sparse
matrix-vector product: the posting lists of the query's words, scaled by the query's weights
and summed per row.

Indexing has two steps: :func:`tfidf_matrix` does the slow part (tokens, weights, columns) in
ordinary memory, fit for a worker thread; :func:`share_matrix` then copies the result into
shared memory, which is quick.

Rows are normalised over *all* of an issue's words, including those left out of the capped
vocabulary, so that dropping rare words never inflates a similarity; a query's unknown words count
in its norm with the largest idf for the same reason.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from autoissue.pool import SharedArray, SharedArrays, SharedStrings

_WORD = re.compile(r"[^\W\d_]\w+")  # two or more word characters, starting with a letter
_TITLE_CHARS = 512
_BODY_CHARS = 5_000  # the head of a report says what it is about; bounded for giant bodies
_TITLE_REPEAT = 2  # a title says more per word than a body
_STOP_TEXT = """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each else even few for
    from further get gets got had has have having he her here hers him his how if in into is it its
    itself just let me more most my no nor not now of off on once only or other our ours out over
    own same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who whom why
    will with would you your yours"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())

Matches = list[tuple[int, float]]


def issue_words(title: str, body: str | None) -> list[str]:
    """The words of an issue that carry meaning: lower case, stop words dropped, text bounded."""
    text = " ".join([title[:_TITLE_CHARS]] * _TITLE_REPEAT + [(body or "")[:_BODY_CHARS]])
    return [word for word in _WORD.findall(text.lower()) if word not in _STOP_WORDS]


def _sublinear(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # A word said ten times is not ten times as telling as a word said once.
    return 1.0 + np.log(counts)


@dataclass(frozen=True, slots=True)
class TfidfIndex:
    """A picklable handle on a TF-IDF matrix in shared memory, and the vocabulary to query it.

    ``words`` are the vocabulary in column order and ``numbers`` maps rows to issue numbers;
    every part lives in shared memory, so the handle pickles to a few names. Query it with
    :meth:`most_similar`.
    """

    words: SharedStrings
    unknown_idf: float
    idf: SharedArray
    indptr: SharedArray
    rows: SharedArray
    weights: SharedArray
    numbers: SharedArray

    @property
    def handles(self) -> tuple[SharedArray, ...]:
        """Every shared array the index is made of."""
        return (*self.words.handles, self.idf, self.indptr, self.rows, self.weights, self.numbers)

    @property
    def vocabulary(self) -> dict[str, int]:
        """Each vocabulary word's column, built once per process from the shared words."""
        return _columns(self.words)

    @property
    def size(self) -> int:
        """The number of issues (rows) in the index."""
        return self.numbers.shape[0]

    def _query(self, words: Iterable[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        counts = Counter(words)
        vocabulary = self.vocabulary
        known = [(vocabulary[word], n) for word, n in counts.items() if word in vocabulary]
        unknown = [n for word, n in counts.items() if word not in vocabulary]
        ids = np.array([term for term, _ in known], dtype=np.int64)
        weights = _sublinear(np.array([n for _, n in known], dtype=np.float64))
        weights *= self.idf.attach()[ids]
        missing = _sublinear(np.array(unknown, dtype=np.float64)) * self.unknown_idf
        norm = math.sqrt(float(weights @ weights) + float(missing @ missing))
        return ids, weights / norm if norm else weights

    def similarities(self, words: Iterable[str]) -> npt.NDArray[np.float64]:
        """The cosine similarity of ``words`` with every row, in row order."""
        ids, query = self._query(words)
        indptr = self.indptr.attach()
        starts, lengths = indptr[ids], indptr[ids + 1] - indptr[ids]
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        positions = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(
            starts - offsets, lengths
        )
        scores = np.bincount(
            self.rows.attach()[positions],
            weights=self.weights.attach()[positions] * np.repeat(query, lengths),
            minlength=self.size,
        )
        return np.minimum(scores, 1.0)

    def most_similar(
        self,
        words: Iterable[str],
        *,
        threshold: float,
        limit: int,
        exclude: int,
        older_only: bool = False,
    ) -> Matches:
        """Up to ``limit`` (issue number, similarity) pairs at or above ``threshold``, best first.

        Issue ``exclude`` is never a candidate, nor, with ``older_only``, any issue numbered
        after it; ties go to the older issue.
        """
        scores = self.similarities(words)
        numbers = self.numbers.attach()
        eligible = (scores >= threshold) & (numbers != exclude)
        if older_only:
            eligible &= numbers < exclude
        candidates = np.flatnonzero(eligible)
        order = np.lexsort((numbers[candidates], -scores[candidates]))[:limit]
        return [(int(numbers[row]), float(scores[row])) for row in candidates[order]]


@functools.lru_cache(maxsize=16)
def _columns(words: SharedStrings) -> dict[str, int]:
    return {word: column for column, word in enumerate(words.attach())}


class _Flat:
    """The (row, word, count) triples of a corpus, built once in Python, then handed to numpy."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        self.terms: dict[str, int] = {}
        rows: list[int] = []
        ids: list[int] = []
        counts: list[int] = []
        for row, words in enumerate(documents):
            for word, count in Counter(words).items():
                rows.append(row)
                ids.append(self.terms.setdefault(word, len(self.terms)))
                counts.append(count)
        self.rows = np.array(rows, dtype=np.int64)
        self.ids = np.array(ids, dtype=np.int64)
        self.counts = np.array(counts, dtype=np.float64)


def _vocabulary(flat: _Flat, df: npt.NDArray[Any], limit: int) -> npt.NDArray[np.int64]:
    # The most frequent words, ties broken alphabetically so a corpus always gives one index.
    names = sorted(flat.terms, key=flat.terms.__getitem__)
    alphabetical = np.argsort(np.array(names, dtype=object), kind="stable")
    kept = alphabetical[np.argsort(-df[alphabetical], kind="stable")][:limit]
    return np.sort(kept)


def _row_weights(flat: _Flat, total: int) -> tuple[npt.NDArray[Any], ...]:
    df = np.bincount(flat.ids, minlength=len(flat.terms)).astype(np.int64)
    idf = np.log((1.0 + total) / (1.0 + df)) + 1.0  # smoothed, never zero
    weights = _sublinear(flat.counts) * idf[flat.ids]
    norms = np.sqrt(np.bincount(flat.rows, weights=weights * weights, minlength=total))
    weights /= np.where(norms > 0, norms, 1.0)[flat.rows]
    return df, idf, weights


# The arrays of a matrix that live in shared memory, in TfidfIndex's field order.
_SHARED_FIELDS = ("idf", "indptr", "rows", "weights", "numbers")


@dataclass(frozen=True, slots=True)
class TfidfMatrix:
    """A TF-IDF matrix in ordinary memory: what :func:`share_matrix` copies into shared memory.

    Computing it is the slow part of indexing and touches no shared memory, so it can run in
    another thread, and a result nobody takes leaves nothing to unlink.
    """

    vocabulary: dict[str, int]
    unknown_idf: float
    idf: npt.NDArray[np.float64]
    indptr: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int32]
    weights: npt.NDArray[np.float32]
    numbers: npt.NDArray[np.int64]


def tfidf_matrix(
    numbers: Sequence[int], documents: Sequence[Sequence[str]], *, max_features: int
) -> TfidfMatrix:
    """The TF-IDF matrix of ``documents`` (the words of issues ``numbers``), by columns."""
    flat = _Flat(documents)
    df, idf, weights = _row_weights(flat, len(documents))
    kept = _vocabulary(flat, df, max_features)
    column = np.full(len(flat.terms), -1, dtype=np.int64)
    column[kept] = np.arange(len(kept))
    mask = column[flat.ids] >= 0
    cols = column[flat.ids[mask]]
    order = np.argsort(cols, kind="stable")
    indptr = np.zeros(len(kept) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(cols, minlength=len(kept)))
    names = {index: word for word, index in flat.terms.items()}
    return TfidfMatrix(
        vocabulary={names[int(term)]: position for position, term in enumerate(kept)},
        unknown_idf=math.log(1.0 + len(documents)) + 1.0,
        idf=idf[kept],
        indptr=indptr,
        rows=flat.rows[mask][order].astype(np.int32),
        weights=weights[mask][order].astype(np.float32),
        numbers=np.array(numbers, dtype=np.int64),
    )


def share_matrix(matrix: TfidfMatrix, shared: SharedArrays) -> TfidfIndex:
    """``matrix`` copied into arrays created in ``shared``: an index pool workers can attach.

    Should a copy fail (shared memory full), the arrays made before it are released again.
    """
    vocabulary = matrix.vocabulary
    words = shared.from_strings(sorted(vocabulary, key=vocabulary.__getitem__))
    made: list[SharedArray] = [*words.handles]
    try:
        for field in _SHARED_FIELDS:
            made.append(shared.from_array(getattr(matrix, field)))
    except BaseException:
        for handle in made:
            shared.release(handle)
        raise
    return TfidfIndex(words, matrix.unknown_idf, *made[2:])
