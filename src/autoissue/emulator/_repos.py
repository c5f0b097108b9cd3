"""The repositories one emulator serves: each with its own items, caches, ids and git remote.

The first repository is the one a single-repository emulator always served: numeric id
1296269, items ``1_000_000 + number``, data from the seed itself. Each further repository
shifts its item and comment ids by :data:`ID_STRIDE` per place, so ids are unique across the
emulator as GitHub's are, and draws its data from the seed and its name, so no two are alike.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from autoissue._clock import Clock
from autoissue.emulator._config import EmulatorConfig
from autoissue.emulator._data import generate
from autoissue.emulator._imported import read_issues_file
from autoissue.emulator._listing import Listing
from autoissue.emulator._models import IssueRecord
from autoissue.emulator._payloads import Payloads
from autoissue.emulator._store import RepoStore

__all__ = ["ID_STRIDE", "REPO_ID", "Repositories", "Repository"]

#: The first repository's numeric id (``/repositories/{id}/...``): GitHub's own Hello-World.
REPO_ID = 1296269
#: How far apart the item and comment ids of two neighbouring repositories start.
ID_STRIDE = 1_000_000_000


class Repository:
    """One served repository: its names and id, bare git repository, store and listing.

    ``place`` is its position among the emulator's repositories (0 for the first);
    ``issues_file`` holds its real issues, or ``None`` to generate ``issues`` from ``seed``.
    """

    def __init__(
        self,
        *,
        full_name: str,
        place: int,
        bare: Path,
        base_url: str,
        clock: Clock,
        issues_file: Path | None,
        seed: int,
        issues: int,
    ) -> None:
        self.full_name = full_name
        self.owner, self.name = full_name.split("/", 1)
        self.id = REPO_ID + place
        self.id_offset = place * ID_STRIDE
        self.bare = bare
        self.clock = clock
        self._source = (issues_file, seed, issues)
        self.payloads = Payloads(base_url=base_url, full_name=full_name, repo_id=self.id)
        self.reset()

    def __repr__(self) -> str:
        return f"Repository({self.full_name}, id={self.id}, items={len(self.store.records)})"

    def reset(self) -> None:
        """Restore the seeded (or file's) items; drop every cache built on them."""
        self.store = RepoStore(
            payloads=self.payloads,
            records=self._records(),
            clock=self.clock,
            clone_url=str(self.bare),
            id_offset=self.id_offset,
        )
        self.listing = Listing(self.store)

    def _records(self) -> list[IssueRecord]:
        # A file's issues are read again on every reset, so a reset restores them as they were.
        issues_file, seed, issues = self._source
        if issues_file is not None:
            records = read_issues_file(issues_file, self.full_name)
        else:
            records = generate(seed, issues)
        if self.id_offset:
            _shift_ids(records, self.id_offset)
        return records


def _shift_ids(records: list[IssueRecord], offset: int) -> None:
    for rec in records:
        rec.id += offset
        for comment in rec.comments:
            comment.id += offset


class Repositories:
    """The served repositories, in order, found by name (in any case) or by numeric id."""

    def __init__(self, repos: Sequence[Repository]) -> None:
        self._list = list(repos)
        self._by_name = {repo.full_name.lower(): repo for repo in self._list}
        self._by_id = {str(repo.id): repo for repo in self._list}
        self.first = self._list[0]

    @classmethod
    def configured(
        cls, config: EmulatorConfig, *, bares: Sequence[Path], base_url: str, clock: Clock
    ) -> Repositories:
        """The repositories ``config`` names, with their bare repositories at ``bares``."""
        repos = [
            Repository(
                full_name=full_name,
                place=place,
                bare=bare,
                base_url=base_url,
                clock=clock,
                issues_file=config.issues_file_of(place),
                seed=_seed(config, place),
                issues=config.issues,
            )
            for place, (full_name, bare) in enumerate(zip(config.full_names, bares, strict=True))
        ]
        return cls(repos)

    def __repr__(self) -> str:
        return f"Repositories({len(self._list)}, first={self.first.full_name})"

    def __iter__(self) -> Iterator[Repository]:
        return iter(self._list)

    def __len__(self) -> int:
        return len(self._list)

    def named(self, owner: str, name: str) -> Repository | None:
        """The repository ``owner/name`` (in any case, as GitHub allows), or ``None``."""
        return self._by_name.get(f"{owner}/{name}".lower())

    def with_id(self, repo_id: str) -> Repository | None:
        """The repository whose numeric id is ``repo_id`` (as a path gives it), or ``None``."""
        return self._by_id.get(repo_id)

    def owned_by(self, owner: str) -> list[Repository]:
        """The repositories of ``owner`` (in any case), in order."""
        wanted = owner.lower()
        return [repo for repo in self._list if repo.owner.lower() == wanted]


def _seed(config: EmulatorConfig, place: int) -> int:
    """The seed of the ``place``-th repository's data: a pure function of the seed and name."""
    if place == 0:
        return config.seed
    return zlib.crc32(f"{config.seed}:{config.full_names[place]}".encode())
