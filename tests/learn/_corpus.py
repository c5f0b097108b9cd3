"""A small labelled corpus written by the tests: three types whose words differ, per repository."""

from __future__ import annotations

import csv
import random
from pathlib import Path

_WORDS = {
    "bug": ["crash", "segfault", "traceback", "exception", "broken", "regression", "fails"],
    "feature": ["support", "add", "option", "proposal", "allow", "implement", "enhancement"],
    "question": ["how", "why", "possible", "understand", "explain", "help", "clarify"],
}
_FILLER = ["the", "widget", "render", "config", "server", "when", "with", "module", "page"]


def corpus_rows(repos: tuple[str, ...], per_type: int, seed: int = 7) -> list[dict[str, str]]:
    """``per_type`` issues of each type for each repository, their words drawn from the type's."""
    rng = random.Random(seed)
    rows = []
    for repo in repos:
        for label, words in _WORDS.items():
            for _ in range(per_type):
                title = " ".join(rng.sample(words, 2) + rng.sample(_FILLER, 3))
                body = " ".join(rng.choices(words, k=4) + rng.choices(_FILLER, k=12))
                row = {"repo": repo, "created_at": "2024-01-01 00:00:00", "label": label}
                rows.append(row | {"title": title, "body": body})
    return rows


def write_corpus(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write ``rows`` as a labelled CSV in the dataset's column order."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["repo", "created_at", "label", "title", "body"])
        writer.writeheader()
        writer.writerows(rows)
    return path
