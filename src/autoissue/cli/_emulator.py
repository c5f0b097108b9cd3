"""``autoissue emulator``: serve the GitHub REST emulator until interrupted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from autoissue._exceptions import ConfigurationError, EmulatorError
from autoissue.emulator import EmulatorConfig, numbered_repos, serve

__all__ = ["emulator_command"]

_DEFAULT_REPO = "acme/widgets"


class _OneLineErrors(click.Command):
    """Report a bad option value as one ``Error:`` line, without the usage text."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.BadParameter as exc:
            raise click.ClickException(exc.format_message()) from None


@click.command("emulator", cls=_OneLineErrors)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=0, show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--repo",
    "repo_names",
    multiple=True,
    help=f"OWNER/NAME to serve; repeat for several.  [default: {_DEFAULT_REPO}]",
)
@click.option(
    "--repos",
    "repo_count",
    type=int,
    default=0,
    help="Serve N generated repositories OWNER/NAME-1 ... OWNER/NAME-N named after --repo.",
)
@click.option("--issues", type=int, default=1000, show_default=True, help="Items incl. PRs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the data.")
@click.option("--latency-ms", type=float, default=0.0, show_default=True, help="Median latency.")
@click.option(
    "--capacity", type=int, default=0, show_default=True, help="In-flight before queueing."
)
@click.option("--faults", type=float, default=0.0, show_default=True, help="Share of faults, 0-1.")
@click.option(
    "--limits",
    type=click.Choice(["none", "github"]),
    default="none",
    show_default=True,
    help="Rate-limit profile: none (GitHub Enterprise default) or github (github.com).",
)
@click.option("--time-scale", type=float, default=1.0, show_default=True, help="Limit clock speed.")
@click.option("--token", "tokens", multiple=True, help="Accept only these tokens (repeatable).")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where the bare git repos live.")
@click.option(
    "--issues-file",
    "issues_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Serve the real issues of this file (JSON Lines of issue objects, or a labelled CSV's"
    " rows of the repository) instead of --issues generated ones; repeated, the files pair"
    " with the --repo options in order.",
)
@click.option(
    "--webhook-url", help="POST a webhook delivery here for every change (issues, comments)."
)
@click.option(
    "--webhook-secret",
    envvar="AUTOISSUE_EMULATOR_WEBHOOK_SECRET",
    help="Sign deliveries with this secret (X-Hub-Signature-256); also read from"
    " AUTOISSUE_EMULATOR_WEBHOOK_SECRET.",
)
def emulator_command(
    tokens: tuple[str, ...],
    repo_names: tuple[str, ...],
    repo_count: int,
    issues_files: tuple[Path, ...],
    **options: Any,
) -> None:
    """Serve a GitHub REST emulator with seeded or real issues until SIGINT or SIGTERM."""
    try:
        config = EmulatorConfig(
            tokens=frozenset(tokens) if tokens else None,
            repos=_repositories(repo_names, repo_count),
            issues_files=issues_files,
            **options,
        )
        serve(config)
    except (ConfigurationError, EmulatorError) as exc:
        raise click.ClickException(str(exc)) from None


def _repositories(names: tuple[str, ...], count: int) -> tuple[str, ...]:
    """The repositories ``--repo`` and ``--repos`` name together."""
    if not count:
        return names or (_DEFAULT_REPO,)
    if len(names) > 1:
        raise ConfigurationError("--repos N numbers the repositories of one --repo, not several")
    return numbered_repos(names[0] if names else _DEFAULT_REPO, count)
