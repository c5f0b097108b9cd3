"""The issues a run gave up on, read from its dead-letter queue as the bench's referee does."""

from __future__ import annotations

from pathlib import Path

from autoissue.bench._dead import dead_letter_numbers
from autoissue.queue import ErrorKind, open_queue


async def test_dead_letters_in_a_state_database_name_the_issues_given_up_on(
    tmp_path: Path,
) -> None:
    dsn = f"sqlite:///{tmp_path / 'state.db'}"
    async with await open_queue(dsn) as queue:
        for number in (7, 8, 9):
            await queue.put(b"{}", key=f"bench-triage:acme/widgets#{number}@2026-01-01T00:00:00Z")
        for lease in await queue.claim_many(3):
            if lease.key and "#8@" in lease.key:
                await queue.nack(lease.id, ErrorKind.PERMANENT, "gone")  # given up on
            else:
                await queue.ack([lease.id])
    assert await dead_letter_numbers(dsn, 100) == {8}
    assert await dead_letter_numbers(f"sqlite:///{tmp_path / 'empty.db'}", 100) == set()
