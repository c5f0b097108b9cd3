"""What a run's dead-letter queue says: the issues it gave up on, by number (and repository)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from autoissue.queue import open_queue

#: A dead letter's key: ``processor:OWNER/REPO#N@updated_at``.
_DEAD_KEY = re.compile(r"#(\d+)@")
#: The same, naming the repository too (a processor's import path may hold a colon).
_DEAD_ITEM = re.compile(r"([^:/#\s]+/[^:/#\s]+)#(\d+)@")


def dead_lettered(keys: Iterable[str | None]) -> set[int]:
    """Issue numbers named by dead letters' keys (``processor:OWNER/REPO#N@updated_at``)."""
    found = (_DEAD_KEY.search(key) for key in keys if key)
    return {int(match.group(1)) for match in found if match}


async def dead_letter_numbers(dsn: str, limit: int) -> set[int]:
    """The issues of the first ``limit`` dead letters in the backend at ``dsn``."""
    return dead_lettered(await _dead_letter_keys(dsn, limit))


def dead_lettered_items(keys: Iterable[str | None]) -> set[tuple[str, int]]:
    """``(OWNER/REPO, N)`` of the issues named by dead letters' keys."""
    found = (_DEAD_ITEM.search(key) for key in keys if key)
    return {(match.group(1), int(match.group(2))) for match in found if match}


async def dead_letter_items(dsn: str, limit: int) -> set[tuple[str, int]]:
    """``(OWNER/REPO, N)`` of the first ``limit`` dead letters in the backend at ``dsn``."""
    return dead_lettered_items(await _dead_letter_keys(dsn, limit))


async def _dead_letter_keys(dsn: str, limit: int) -> list[str | None]:
    queue = await open_queue(dsn)
    try:
        return [letter.key for letter in await queue.dead_letters(limit)]
    finally:
        await queue.close()
