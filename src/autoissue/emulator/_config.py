"""The emulator's configuration: one frozen, keyword-only value object."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from autoissue._exceptions import ConfigurationError

__all__ = ["LIMIT_PROFILES", "MAX_REPOS", "EmulatorConfig", "numbered_repos"]

#: ``none``: GitHub Enterprise Server's default (no limits, no headers); ``github``: github.com.
LIMIT_PROFILES = ("none", "github")
#: The most repositories one emulator serves.
MAX_REPOS = 1000

_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_MAX_ISSUES = 1_000_000
_DEFAULT_REPO = "acme/widgets"


def numbered_repos(repo: str, count: int) -> tuple[str, ...]:
    """``count`` repository names after ``repo``: ``OWNER/NAME-1`` to ``OWNER/NAME-count``."""
    if not 1 <= count <= MAX_REPOS:
        raise ConfigurationError(f"repos must be 1-{MAX_REPOS} (got {count})")
    return tuple(f"{repo}-{number}" for number in range(1, count + 1))


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """How an emulator serves: where, which repositories, and how GitHub-like it misbehaves.

    ``repo`` is the one repository served, or ``repos`` several (``repo`` is then the first
    of them; see :func:`numbered_repos`), each with ``issues`` items generated from ``seed``
    (the first repository from ``seed`` itself, each other from ``seed`` and its name).
    ``latency_ms`` is the median of a log-normal response time (0: no delay at all);
    ``capacity`` the in-flight requests served before a queueing delay grows (0: unlimited);
    ``faults`` the share of requests answered 502/503, reset or slowed; ``limits`` is ``"none"``
    or ``"github"``; ``time_scale`` K makes an hour of rate-limit windows pass in 1/K real hours;
    ``tokens`` restricts the valid tokens (``None``: any non-empty token); ``data_dir`` keeps the
    bare git repositories (``None``: a temporary directory removed on close); ``issues_file``
    serves the real issues a file holds instead of ``issues`` generated ones (see
    :func:`~autoissue.emulator.read_issues_file`), or ``issues_files`` one file per repository
    in order (repositories beyond the files get generated issues). ``webhook_url`` receives a
    delivery for every change, signed with ``webhook_secret`` when there is one.
    """

    host: str = "127.0.0.1"
    port: int = 0
    repo: str = _DEFAULT_REPO
    repos: tuple[str, ...] = ()
    issues: int = 1000
    seed: int = 0
    latency_ms: float = 0.0
    capacity: int = 0
    faults: float = 0.0
    limits: str = "none"
    time_scale: float = 1.0
    tokens: frozenset[str] | None = None
    data_dir: Path | None = None
    issues_file: Path | None = None
    issues_files: tuple[Path, ...] = ()
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.repos and self.repo == _DEFAULT_REPO:
            object.__setattr__(self, "repo", self.repos[0])
        problem = _first_problem(self)
        if problem:
            raise ConfigurationError(f"invalid emulator configuration: {problem}")

    @property
    def owner(self) -> str:
        """The (first) repository's owner login."""
        return self.repo.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The (first) repository's name without its owner."""
        return self.repo.split("/", 1)[1]

    @property
    def full_names(self) -> tuple[str, ...]:
        """Every repository served, ``OWNER/NAME``, in order."""
        return self.repos or (self.repo,)

    def issues_file_of(self, index: int) -> Path | None:
        """The issues file of the ``index``-th repository, or ``None`` to generate its issues."""
        files = self.issues_files or ((self.issues_file,) if self.issues_file else ())
        return files[index] if index < len(files) else None


def _first_problem(config: EmulatorConfig) -> str:
    """Say what is wrong with ``config`` in one phrase, or return an empty string."""
    checks = (*_serving_checks(config), *_repo_checks(config), *_webhook_checks(config))
    return next((message for ok, message in checks if not ok), "")


def _serving_checks(config: EmulatorConfig) -> tuple[tuple[bool, str], ...]:
    """Where and how the emulator serves."""
    return (
        (bool(config.host), f"host must not be empty (got {config.host!r})"),
        (0 <= config.port <= 65535, f"port must be 0-65535 (got {config.port})"),
        (_finite(config.latency_ms) and config.latency_ms >= 0, "latency_ms must be >= 0"),
        (config.capacity >= 0, f"capacity must be >= 0 (got {config.capacity})"),
        (_finite(config.faults) and 0 <= config.faults <= 1, "faults must be between 0 and 1"),
        (config.limits in LIMIT_PROFILES, f"limits must be none or github (got {config.limits!r})"),
        (_finite(config.time_scale) and config.time_scale > 0, "time_scale must be > 0"),
        (config.tokens is None or all(config.tokens), "tokens must be non-empty strings"),
    )


def _repo_checks(config: EmulatorConfig) -> tuple[tuple[bool, str], ...]:
    """Which repositories, and how many items in all."""
    names = config.full_names
    bad = next((name for name in (config.repo, *names) if not _REPO.match(name)), None)
    items = config.issues * len(names)
    return (
        (bad is None, f"repo must be OWNER/NAME (got {bad!r})"),
        (not config.repos or config.repo == names[0], "repo and repos disagree: give one"),
        (len(names) <= MAX_REPOS, f"repos must be at most {MAX_REPOS} (got {len(names)})"),
        (len({name.lower() for name in names}) == len(names), "repos must not repeat"),
        (
            0 <= config.issues <= _MAX_ISSUES,
            f"issues must be 0-{_MAX_ISSUES} (got {config.issues})",
        ),
        (items <= _MAX_ISSUES, f"issues x repos must be at most {_MAX_ISSUES} (got {items})"),
        (not (config.issues_file and config.issues_files), "give issues_file or issues_files"),
        (len(config.issues_files) <= len(names), "more issues_files than repos"),
    )


def _webhook_checks(config: EmulatorConfig) -> tuple[tuple[bool, str], ...]:
    """Where deliveries go, and their secret."""
    url, secret = config.webhook_url, config.webhook_secret
    return (
        (url is None or _http_url(url), f"webhook_url must be an http(s) URL (got {url!r})"),
        (secret is None or url is not None, "webhook_secret needs a webhook_url"),
        (secret is None or bool(secret), "webhook_secret must not be empty"),
    )


def _http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an unclosed IPv6 bracket, say
        return False


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
