"""Trust checks on what an agent produced: proposed labels, changed paths, diff size.

An agent is a program we run on text written by strangers, so its output is treated like
input: a label not on the allowlist, a path outside the allowed globs (or inside a denied
one), or a diff over the cap fails the issue with :class:`TrustViolationError` before
anything is pushed or planned.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from autoissue._exceptions import ConfigurationError, TrustViolationError

__all__ = ["TrustPolicy", "glob_match"]


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern)
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def glob_match(path: str, pattern: str) -> bool:
    """Whether repository path ``path`` matches ``pattern``.

    ``*`` and ``?`` stay inside one path segment; ``**`` crosses segments, and ``**/`` also
    matches no directory at all (``docs/**/*.md`` matches ``docs/a.md``).
    """
    return _glob_regex(pattern).fullmatch(path) is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustPolicy:
    """What an agent may propose and change.

    ``allowed_labels``: labels its result file may propose (compared without case; empty:
    none). ``allowed_paths``: globs every changed path must match; ``denied_paths``: globs no
    changed path may match (by default the CI workflows, which run with the repository's
    secrets). ``max_diff_bytes``: the largest binary diff accepted.
    """

    allowed_labels: frozenset[str] = frozenset()
    allowed_paths: tuple[str, ...] = ("**",)
    denied_paths: tuple[str, ...] = (".github/workflows/**",)
    max_diff_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        if self.max_diff_bytes < 1:
            raise ConfigurationError(f"max_diff_bytes must be >= 1 (got {self.max_diff_bytes})")

    def check_labels(self, labels: Iterable[str]) -> None:
        """Raise TrustViolationError unless every label is on the allowlist."""
        allowed = {label.casefold() for label in self.allowed_labels}
        refused = sorted({label for label in labels if label.casefold() not in allowed})
        if refused:
            raise TrustViolationError(f"labels not on the allowlist: {', '.join(refused)}")

    def check_paths(self, paths: Iterable[str]) -> None:
        """Raise TrustViolationError unless every path is allowed and none is denied."""
        refused = [
            path
            for path in paths
            if not any(glob_match(path, glob) for glob in self.allowed_paths)
            or any(glob_match(path, glob) for glob in self.denied_paths)
        ]
        if refused:
            shown = ", ".join(refused[:5]) + (" …" if len(refused) > 5 else "")
            raise TrustViolationError(f"{len(refused)} changed path(s) not allowed: {shown}")

    def check_diff_size(self, diff_bytes: int) -> None:
        """Raise TrustViolationError when the diff is larger than the cap."""
        if diff_bytes > self.max_diff_bytes:
            raise TrustViolationError(f"the diff is over the {self.max_diff_bytes} byte cap")
