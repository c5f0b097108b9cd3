"""The root command group and its sub-commands."""

from __future__ import annotations

import logging

import click

from autoissue.cli._bench import bench_command
from autoissue.cli._demo import demo_command
from autoissue.cli._dlq import dlq_command
from autoissue.cli._run import run_command


@click.group()
@click.version_option(package_name="auto-issue-processor")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Process a GitHub repository's issues in bulk."""
    level = {0: logging.ERROR, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


main.add_command(run_command)
main.add_command(demo_command)


from autoissue.cli._emulator import emulator_command  # noqa: E402 - registered after main exists

main.add_command(emulator_command)

main.add_command(dlq_command)
main.add_command(bench_command)
