"""The ``duplicates`` processor: point an issue at the open issues it most resembles.

The corpus is the repository's open issues, listed once per run (or handed over by the caller)
and indexed, in a worker thread, as TF-IDF vectors in named shared memory. Each issue then
costs one sparse matrix-vector product, which the engine runs in the warm pool's workers: they
attach the index, and the titles the comment quotes, by name (:class:`DuplicateSearch`).
Titles echoed in the comment are quoted so that no issue text can add markup, mentions, images
or links to it.
"""

from __future__ import annotations

import asyncio
import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from autoissue._exceptions import ConfigurationError
from autoissue.model import Comment, Issue, Plan, Priority
from autoissue.pool import SharedArray, SharedArrays, SharedStrings
from autoissue.processors._base import Isolation, PoolWork, ProcessContext
from autoissue.processors._tfidf import (
    Matches,
    TfidfIndex,
    TfidfMatrix,
    issue_words,
    share_matrix,
    tfidf_matrix,
)
from autoissue.selection import priority_of

DEFAULT_THRESHOLD = 0.6
_TITLE_LIMIT = 100
_MAX_MATCHES = 20  # keeps a comment far below GitHub's 65,536 characters

# One pass over the text: markdown and HTML punctuation escaped, mentions (@user) and
# references (#12) broken by a zero-width space so that quoting an issue pings nobody.
_ESCAPES = str.maketrans(
    {
        **{char: "\\" + char for char in "\\`*_{}[]()!|~>+-=:"},
        "<": "&lt;",
        "&": "&amp;",
        "@": "@\u200b",
        "#": "#\u200b",
    }
)


def quote_title(title: str, limit: int = _TITLE_LIMIT) -> str:
    """``title`` made inert for markdown: one line, at most ``limit`` characters, escaped.

    Control and format characters (NUL, bidirectional overrides, zero-width joiners) become
    spaces first, so the text renders as it reads.
    """
    head = title[: limit * 2]
    plain = "".join(" " if unicodedata.category(char)[0] == "C" else char for char in head)
    text = " ".join(plain.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text.translate(_ESCAPES)


def _comment(matches: Matches, titles: dict[int, str]) -> str:
    lines = [
        f'- #{number} "{quote_title(titles.get(number, ""))}" (similarity {score:.2f})'
        for number, score in matches
    ]
    return "\n".join(
        [
            "This issue looks similar to these open issues:",
            "",
            *lines,
            "",
            "If it duplicates one of them, please close it and follow the older one; "
            "otherwise this note can be ignored.",
        ]
    )


def _open_issues(issues: Iterable[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.state == "open" and not issue.is_pull_request]


@dataclass(frozen=True, slots=True)
class DuplicateSearch:
    """What a pool worker needs to answer for one repository's issues: names, not copies.

    ``titles`` are the corpus's titles in the index's row order, heads only (what a comment
    quotes).
    """

    processor: str
    repo: str
    index: TfidfIndex
    titles: SharedStrings
    threshold: float
    max_matches: int
    older_only: bool

    @property
    def handles(self) -> tuple[SharedArray, ...]:
        """Every shared array the search reads."""
        return (*self.index.handles, *self.titles.handles)


def plan_duplicates(search: DuplicateSearch, issue: Issue) -> Plan:
    """Plan a comment listing the open issues similar to ``issue``, or nothing when none are."""
    matches = search.index.most_similar(
        issue_words(issue.title, issue.body),
        threshold=search.threshold,
        limit=search.max_matches,
        exclude=issue.number,
        older_only=search.older_only,
    )
    plan = Plan(search.processor, search.repo, issue.number, issue.updated_at)
    if not matches:
        return _with(plan, (), f"no similar open issue (threshold {search.threshold})")
    found = ", ".join(f"#{number} ({score:.2f})" for number, score in matches)
    body = _comment(matches, _titles(search.index.numbers, search.titles))
    return _with(plan, (Comment(body, slot="duplicates"),), f"similar to {found}")


@functools.lru_cache(maxsize=16)
def _titles(numbers: SharedArray, titles: SharedStrings) -> dict[int, str]:
    return dict(zip(numbers.attach().tolist(), titles.attach(), strict=True))


class Duplicates:
    """Comments on an issue with the open issues most similar to it (TF-IDF cosine similarity).

    ``threshold`` (0 < t <= 1) is the similarity from which an issue counts as similar;
    ``max_matches`` (at most 20) caps the issues listed; ``older_only`` (default) lists only
    issues opened before it, so that of two duplicates only the newer one hears of the older.
    ``corpus`` replaces the repository's open issues (listed from GitHub on first use);
    ``max_features`` caps the vocabulary; ``shared`` is where the matrix lives (a pool's
    :class:`~autoissue.pool.SharedArrays`, or the processor's own). The index is built in a
    worker thread, so the event loop keeps running meanwhile. :meth:`close` frees it; the
    processor's own shared memory is freed anyway once the processor is gone, or at exit.
    """

    name = "duplicates"
    isolation = Isolation.POOL

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        max_matches: int = 3,
        older_only: bool = True,
        max_features: int = 20_000,
        corpus: Iterable[Issue] | None = None,
        shared: SharedArrays | None = None,
    ) -> None:
        _check(threshold, max_matches, max_features)
        self.threshold, self.max_matches, self.older_only = threshold, max_matches, older_only
        self.max_features = max_features
        self._corpus = None if corpus is None else _open_issues(corpus)
        self._shared = shared if shared is not None else SharedArrays()
        self._lock = asyncio.Lock()
        self._searches: dict[str, DuplicateSearch] = {}

    def __repr__(self) -> str:
        sizes = ",".join(f"{repo}:{s.index.size}" for repo, s in self._searches.items())
        return f"<Duplicates threshold={self.threshold} corpus={sizes or 'unloaded'}>"

    def search(self, repo: str) -> DuplicateSearch | None:
        """The index built for ``repo``, once built: pool workers attach its shared arrays."""
        return self._searches.get(repo)

    def select(self, issue: Issue) -> Priority | None:
        """Open issues are its business, at the priority their labels or title give."""
        if issue.is_pull_request or issue.state != "open":
            return None
        return priority_of(issue).priority

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """Plan a comment listing the similar open issues, here in this process."""
        return plan_duplicates(await self._load(context), issue)

    async def prepare(self, context: ProcessContext) -> PoolWork:
        """The index of the repository's open issues, for pool workers to score issues with."""
        return PoolWork(plan_duplicates, await self._load(context))

    async def _load(self, context: ProcessContext) -> DuplicateSearch:
        # Concurrent first calls wait here: the corpus is listed and indexed once.
        async with self._lock:
            search = self._searches.get(context.repo)
            if search is None:
                issues = self._corpus
                if issues is None:
                    issues = await _list_open_issues(context)
                # Indexing thousands of issues is seconds of CPU: a thread, so the event loop
                # keeps serving the run meanwhile. Only the quick copy into shared memory
                # happens here, so a cancelled call leaves no segment behind.
                matrix = await asyncio.to_thread(_matrix, issues, self.max_features)
                search = self._share(context.repo, matrix, issues)
                self._searches[context.repo] = search
            return search

    def _share(self, repo: str, matrix: TfidfMatrix, issues: list[Issue]) -> DuplicateSearch:
        index = share_matrix(matrix, self._shared)
        try:
            titles = self._shared.from_strings(i.title[: _TITLE_LIMIT * 2] for i in issues)
        except BaseException:
            self._release(index.handles)
            raise
        return DuplicateSearch(
            processor=self.name,
            repo=repo,
            index=index,
            titles=titles,
            threshold=self.threshold,
            max_matches=self.max_matches,
            older_only=self.older_only,
        )

    def close(self) -> None:
        """Free the shared memory of the indexes; the next issue builds one again. Idempotent."""
        searches, self._searches = self._searches, {}
        for search in searches.values():
            self._release(search.handles)

    def _release(self, handles: Iterable[SharedArray]) -> None:
        for handle in handles:
            self._shared.release(handle)


def _matrix(issues: list[Issue], max_features: int) -> TfidfMatrix:
    return tfidf_matrix(
        [issue.number for issue in issues],
        [issue_words(issue.title, issue.body) for issue in issues],
        max_features=max_features,
    )


def _with(plan: Plan, actions: tuple[Comment, ...], reason: str) -> Plan:
    return Plan(plan.processor, plan.repo, plan.issue, plan.updated_at, actions, (reason,))


async def _list_open_issues(context: ProcessContext) -> list[Issue]:
    issues: list[Issue] = []
    async for page in context.github.issue_pages(context.repo, state="open"):
        issues.extend(_open_issues(page))
    return issues


def _check(threshold: float, max_matches: int, max_features: int) -> None:
    if not 0 < threshold <= 1:
        raise ConfigurationError(f"duplicates threshold must be in (0, 1], not {threshold!r}")
    if not 1 <= max_matches <= _MAX_MATCHES:
        raise ConfigurationError(
            f"max_matches must be between 1 and {_MAX_MATCHES}, not {max_matches!r}"
        )
    if max_features < 1:
        raise ConfigurationError(f"max_features must be at least 1, not {max_features!r}")
