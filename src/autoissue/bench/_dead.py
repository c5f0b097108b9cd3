"""What a run's dead-letter queue says: the issues it gave up on, by number."""

from __future__ import annotations

import re
from collections.abc import Iterable

from autoissue.queue import open_queue

#: A dead letter's key: ``processor:OWNER/REPO#N@updated_at``.
_DEAD_KEY = re.compile(r"#(\d+)@")


def dead_lettered(keys: Iterable[str | None]) -> set[int]:
    """Issue numbers named by dead letters' keys (``processor:OWNER/REPO#N@updated_at``)."""
    found = (_DEAD_KEY.search(key) for key in keys if key)
    return {int(match.group(1)) for match in found if match}


async def dead_letter_numbers(dsn: str, limit: int) -> set[int]:
    """The issues of the first ``limit`` dead letters in the backend at ``dsn``."""
    queue = await open_queue(dsn)
    try:
        return dead_lettered(letter.key for letter in await queue.dead_letters(limit))
    finally:
        await queue.close()
