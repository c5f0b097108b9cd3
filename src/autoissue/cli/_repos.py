"""Which repositories a command works on: ``--repo`` (repeatable), ``--org``, ``--all-repos``."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import click

from autoissue._exceptions import ConfigurationError
from autoissue.github import GitHubClient, parse_repo_name

__all__ = [
    "RepoChoice",
    "Repository",
    "max_issues_per_repo_option",
    "repos_options",
    "resolve_repos",
]

F = TypeVar("F", bound=Callable[..., Any])


class Repository(Protocol):
    """What a command reads of a repository it works on."""

    @property
    def full_name(self) -> str:
        """``OWNER/NAME``."""

    @property
    def archived(self) -> bool:
        """Whether it is archived (read-only)."""

    @property
    def fork(self) -> bool:
        """Whether it is a fork."""

    @property
    def open_issues_count(self) -> int:
        """Open issues and pull requests."""


_OPTIONS = (
    click.option(
        "--repo",
        multiple=True,
        help="A repository, as OWNER/NAME (repeat for several).",
    ),
    click.option("--org", help="Every repository of this organisation (see --repo-pattern)."),
    click.option(
        "--repo-pattern",
        help="With --org or --all-repos: only repositories whose NAME matches this glob.",
    ),
    click.option("--include-archived", is_flag=True, help="With --org: archived ones too."),
    click.option("--include-forks", is_flag=True, help="With --org: forks too."),
    click.option(
        "--all-repos",
        is_flag=True,
        help="Every repository the GitHub App installation can reach (App authentication).",
    ),
)


#: ``run`` and ``scan`` cap each repository's share alike.
max_issues_per_repo_option = click.option(
    "--max-issues-per-repo",
    type=click.IntRange(min=1),
    help="Enqueue at most this many of each repository's listing (its most urgent).",
)


def repos_options(command: F) -> F:
    """Add the options that choose the repositories to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


@dataclass(frozen=True, kw_only=True)
class RepoChoice:
    """The repositories asked for, checked; :func:`resolve_repos` lists what they stand for."""

    explicit: tuple[str, ...] = ()
    org: str | None = None
    pattern: str | None = None
    archived: bool = False
    forks: bool = False
    all_repos: bool = False

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RepoChoice:
        """The choice the command line made; a one-line error for a choice that is none."""
        explicit = tuple(dict.fromkeys("/".join(parse_repo_name(r)) for r in options["repo"]))
        choice = cls(
            explicit=explicit,
            org=options["org"],
            pattern=options["repo_pattern"],
            archived=options["include_archived"],
            forks=options["include_forks"],
            all_repos=options["all_repos"],
        )
        choice.check()
        return choice

    def check(self) -> None:
        """Refuse a choice that names no repository, or both an organisation and all."""
        if not (self.explicit or self.org or self.all_repos):
            raise ConfigurationError(
                "name the repositories: --repo OWNER/NAME, --org or --all-repos"
            )
        if self.org and self.all_repos:
            raise ConfigurationError("--org and --all-repos exclude each other: choose one")
        if self.pattern and not (self.org or self.all_repos):
            raise ConfigurationError("--repo-pattern filters --org or --all-repos: give one")

    @property
    def listed(self) -> bool:
        """Whether the repositories are listed from the API (an organisation, or all)."""
        return bool(self.org or self.all_repos)

    def describe(self) -> str:
        """The choice in a few words, for messages."""
        if not self.listed:
            return ", ".join(self.explicit)
        source = f"organisation {self.org}" if self.org else "the installation"
        return f"the repositories of {source}" + (
            f" matching {self.pattern}" if self.pattern else ""
        )

    def keeps(self, repo: Repository) -> bool:
        """Whether a listed repository is one the choice asked for."""
        if repo.archived and not self.archived:
            return False
        if repo.fork and not self.forks:
            return False
        name = repo.full_name.split("/", 1)[-1]
        return self.pattern is None or fnmatch.fnmatchcase(name, self.pattern)


async def resolve_repos(client: GitHubClient, choice: RepoChoice) -> list[Repository]:
    """The repositories ``choice`` stands for, each checked readable; none is an error."""
    repos: list[Repository] = [await client.get_repository(name) for name in choice.explicit]
    if choice.listed:
        listed = await client.list_repositories(choice.org)
        repos += [repo for repo in listed if choice.keeps(repo)]
    unique = list({repo.full_name: repo for repo in repos}.values())
    if not unique:
        raise ConfigurationError(f"no repository to work on: {choice.describe()} has none")
    return unique
