"""What every command that talks to GitHub shares: its options, credentials and connection.

One connection is a client whose budget is shared through the backend (every process on one
token spends one budget), warmed up before use, and flushed and closed after.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from autoissue._exceptions import ConfigurationError
from autoissue.backend import Backend
from autoissue.github import (
    DEFAULT_BASE_URL,
    AppAuth,
    ETagCache,
    GitHubClient,
    GovernorSettings,
    SharedGovernor,
)

F = TypeVar("F", bound=Callable[..., Any])
Auth = tuple[str | None, AppAuth | None]

_OPTIONS = (
    click.option(
        "--base-url",
        default=DEFAULT_BASE_URL,
        show_default=True,
        envvar="AUTOISSUE_BASE_URL",
        help="The REST API root: GitHub Enterprise Server uses https://HOST/api/v3.",
    ),
    click.option("--app-id", envvar="AUTOISSUE_APP_ID", help="Authenticate as this GitHub App."),
    click.option(
        "--app-key-file",
        envvar="AUTOISSUE_APP_KEY_FILE",
        type=click.Path(exists=True, dir_okay=False),
        help="The GitHub App's private key (PEM).",
    ),
    click.option(
        "--installation-id",
        envvar="AUTOISSUE_APP_INSTALLATION_ID",
        type=int,
        help="The App installation that can reach the repository.",
    ),
)


def github_options(command: F) -> F:
    """Add ``--base-url`` and the GitHub App options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def credentials(options: dict[str, Any]) -> Auth:
    """A GitHub App's installation when one is configured, else GITHUB_TOKEN."""
    app_id, key_file, installation = (
        options["app_id"],
        options["app_key_file"],
        options["installation_id"],
    )
    if app_id or key_file or installation:
        if not (app_id and key_file and installation):
            raise ConfigurationError(
                "a GitHub App needs all three: --app-id, --app-key-file and --installation-id"
            )
        key = Path(key_file).read_text(encoding="utf-8")
        return None, AppAuth(app_id=app_id, private_key=key, installation_id=installation)
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise ConfigurationError(
            "GITHUB_TOKEN is not set: export a token that can read and label the issues"
        )
    return token, None


def identity(auth: Auth) -> str:
    """What the GitHub budget belongs to: the token, or the App installation."""
    token, app = auth
    if app is not None:
        return f"app:{app.app_id}:{app.installation_id}"
    return token or ""


@contextlib.asynccontextmanager
async def connected(
    base_url: str,
    auth: Auth,
    backend: Backend,
    *,
    cache: ETagCache | None = None,
    time_scale: float = 1.0,
) -> AsyncIterator[GitHubClient]:
    """A warmed-up client whose budget is shared through ``backend``; closed on exit.

    ``time_scale`` is for an emulator whose rate-limit clock runs that much faster.
    """
    token, app = auth
    store = backend.budget_store(base_url, identity(auth))
    # Every process on this token shares one budget.
    governor = SharedGovernor(store, GovernorSettings(time_scale=time_scale))
    try:
        client = GitHubClient(
            base_url=base_url, token=token, app=app, governor=governor, cache=cache
        )
        async with client:
            await client.warm_up()
            yield client
    finally:
        await governor.flush()
        await store.close()
