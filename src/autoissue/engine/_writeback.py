"""Write-back: apply a plan to GitHub, or save it instead on a dry run."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from autoissue.github import GitHubClient
from autoissue.model import AddLabels, Plan, encode_plan


class WriteBack:
    """Applies plans through a GitHub client; returns how many writes each took."""

    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<WriteBack {self._client.base_url}>"

    async def apply(self, plan: Plan) -> int:
        """Apply every action of ``plan`` in order; returns the number of writes sent.

        Adding labels is idempotent, so a retried write cannot duplicate anything.
        """
        writes = 0
        for action in plan.actions:
            if isinstance(action, AddLabels) and action.labels:
                await self._client.add_labels(plan.repo, plan.issue, action.labels)
                writes += 1
        return writes


class PlanWriter:
    """Appends plans to a JSON-lines file, one plan a line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self.count = 0

    def __repr__(self) -> str:
        return f"<PlanWriter {self.path} plans={self.count}>"

    def write(self, plan: Plan) -> None:
        """Append one plan."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        self._file.write(encode_plan(plan) + b"\n")
        self.count += 1

    def close(self) -> None:
        """Flush and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
