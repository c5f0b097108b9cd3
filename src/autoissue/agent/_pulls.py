"""Which issues already have an open pull request: by our branch, or by a closing keyword.

GitHub closes an issue when a merged pull request says ``Fixes #12`` (or close/closes/closed,
fix/fixes/fixed, resolve/resolves/resolved, in any case, optionally with a colon). ``#12``
never matches ``#123``, and ``other/repo#12`` is another repository's issue; the full form
``owner/name#12`` counts when it names this repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["OpenPullIndex", "closing_references", "load_open_pulls"]

_CLOSING = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+"
    r"(?:(?P<repo>[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+))?#(?P<number>[0-9]+)(?![0-9A-Za-z_])",
    re.IGNORECASE,
)
_PER_PAGE = 100


def closing_references(text: str, repo: str) -> frozenset[int]:
    """The issue numbers of ``repo`` that ``text`` says it closes."""
    return frozenset(
        int(match["number"])
        for match in _CLOSING.finditer(text)
        if match["repo"] is None or match["repo"].lower() == repo.lower()
    )


class _Reader(Protocol):
    async def get(self, path_or_url: str, **params: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class OpenPullIndex:
    """The heads of a repository's open pull requests and the issues they say they close."""

    heads: frozenset[str]
    closes: frozenset[int]

    def already_covered(self, number: int, branch: str) -> bool:
        """Whether issue ``number`` has an open pull request: from ``branch``, or closing it."""
        return branch in self.heads or number in self.closes


async def load_open_pulls(github: _Reader, repo: str) -> OpenPullIndex:
    """List every open pull request of ``repo`` (100 a page) with read-only calls."""
    heads: set[str] = set()
    closes: set[int] = set()
    page = 1
    while True:
        pulls = await github.get(
            f"/repos/{repo}/pulls", state="open", per_page=str(_PER_PAGE), page=str(page)
        )
        for pull in pulls:
            heads.add(pull["head"]["ref"])
            text = f"{pull.get('title') or ''}\n{pull.get('body') or ''}"
            closes |= closing_references(text, repo)
        if len(pulls) < _PER_PAGE:
            return OpenPullIndex(frozenset(heads), frozenset(closes))
        page += 1
