"""The root command group and its sub-commands."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from autoissue._exceptions import ConfigurationError
from autoissue.cli._apply import apply_command
from autoissue.cli._bench import bench_command
from autoissue.cli._config import (
    DEFAULT_CONFIG,
    default_map,
    load_config,
    processor_tables,
    unknown_environment,
)
from autoissue.cli._demo import demo_command
from autoissue.cli._dlq import dlq_command
from autoissue.cli._run import run_command
from autoissue.cli._scan import scan_command
from autoissue.cli._serve import serve_command
from autoissue.cli._terminal import InertFormatter
from autoissue.cli._worker import worker_command


@click.group(context_settings={"auto_envvar_prefix": "AUTOISSUE"})
@click.version_option(package_name="auto-issue-processor")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: ./autoissue.toml when present).",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, config: Path | None) -> None:
    """Process a GitHub repository's issues in bulk.

    Every option can also come from autoissue.toml or from an environment variable
    AUTOISSUE_<COMMAND>_<OPTION> (e.g. AUTOISSUE_RUN_CONCURRENCY); flags win over both.
    """
    _configure_logging(verbose)
    assert isinstance(ctx.command, click.Group)  # noqa: S101 - main is a group
    for warning in unknown_environment(ctx.command, os.environ):
        click.echo(warning, err=True)
    try:
        settings = load_config(config)
        source = str(config or DEFAULT_CONFIG)
        ctx.default_map = default_map(ctx.command, settings, source)
        ctx.obj = {"processor_tables": processor_tables(settings, source)}
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


def _configure_logging(verbose: int) -> None:
    """``-v``: what the run decides (INFO); ``-vv``: also every request and issue (DEBUG).

    Only autoissue's own loggers go to DEBUG: asyncio's and aiohttp's would drown them.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(InertFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.ERROR if verbose == 0 else logging.INFO, handlers=[handler])
    logging.getLogger("autoissue").setLevel(logging.DEBUG if verbose >= 2 else logging.NOTSET)


main.add_command(run_command)
main.add_command(demo_command)


from autoissue.cli._emulator import emulator_command  # noqa: E402 - registered after main exists

main.add_command(emulator_command)

main.add_command(dlq_command)
main.add_command(worker_command)
main.add_command(apply_command)
main.add_command(bench_command)
main.add_command(scan_command)
main.add_command(serve_command)
