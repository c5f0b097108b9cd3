"""A process that books comments through a governor shared in a SQLite file (for the tests)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from autoissue.github import GovernorSettings, SharedGovernor
from autoissue.github._budget_stores import SqliteBudgetStore
from autoissue.github._governor import RequestKind

COMMENT = RequestKind(
    "POST /repos/{owner}/{repo}/issues/{n}/comments", mutation=True, creates_content=True
)


async def book(path: Path, count: int) -> list[float]:
    store = SqliteBudgetStore(path, "github-budget:test")
    settings = GovernorSettings(content_per_minute=10, mutation_spacing_s=0, time_scale=150.0)
    governor = SharedGovernor(store, settings)
    stamps = []
    for _ in range(count):
        permit = await governor.acquire(COMMENT)
        stamps.append(time.time())
        governor.release(permit)
    await governor.flush()
    await store.close()
    return stamps


if __name__ == "__main__":
    stamps = asyncio.run(book(Path(sys.argv[1]), int(sys.argv[2])))
    Path(sys.argv[3]).write_text("\n".join(map(repr, stamps)), encoding="utf-8")
