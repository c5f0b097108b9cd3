"""A GitHub REST emulator: seeded or real issues, pagination, ETags, limits, latency, faults.

Real clients (PyGithub, githubkit, aiohttp) cannot tell it from api.github.com for the
endpoints the project uses. It serves one repository or several (:func:`numbered_repos`), and
with a webhook URL delivers GitHub's signed webhook events for every change. ``/_emulator/``
adds its own admin API (docs/emulator.md).
:data:`GITHUB_LIMITS` holds the numbers of github.com's limits that the ``github`` profile
enforces, and :func:`least_seconds` the least time they let a run of requests take.

::

    async with Emulator(EmulatorConfig(issues=5000, limits="github")) as emulator:
        ...  # point a client at emulator.base_url

    config = EmulatorConfig(repos=numbered_repos("acme/widgets", 10), webhook_url=receiver)

    with run_in_thread(EmulatorConfig()) as emulator:   # beside another event loop
        ...
"""

from __future__ import annotations

from autoissue._clock import Clock, FakeClock, SystemClock
from autoissue.emulator._config import EmulatorConfig, numbered_repos
from autoissue.emulator._imported import ISSUE_FILE_SUFFIXES, read_issues_file
from autoissue.emulator._limits import GITHUB_LIMITS, GithubLimits, least_seconds
from autoissue.emulator._server import Emulator, run_in_thread, serve

__all__ = [
    "GITHUB_LIMITS",
    "ISSUE_FILE_SUFFIXES",
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "FakeClock",
    "GithubLimits",
    "SystemClock",
    "least_seconds",
    "numbered_repos",
    "read_issues_file",
    "run_in_thread",
    "serve",
]
