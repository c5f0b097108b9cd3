"""The root command group and its sub-commands."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from autoissue._exceptions import ConfigurationError
from autoissue.cli._apply import apply_command
from autoissue.cli._bench import bench_command
from autoissue.cli._config import DEFAULT_CONFIG, default_map, load_config
from autoissue.cli._demo import demo_command
from autoissue.cli._dlq import dlq_command
from autoissue.cli._run import run_command
from autoissue.cli._scan import scan_command
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
    level = {0: logging.ERROR, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_config(config)
        assert isinstance(ctx.command, click.Group)  # noqa: S101 - main is a group
        ctx.default_map = default_map(ctx.command, settings, str(config or DEFAULT_CONFIG))
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


main.add_command(run_command)
main.add_command(demo_command)


from autoissue.cli._emulator import emulator_command  # noqa: E402 - registered after main exists

main.add_command(emulator_command)

main.add_command(dlq_command)
main.add_command(worker_command)
main.add_command(apply_command)
main.add_command(bench_command)
main.add_command(scan_command)
