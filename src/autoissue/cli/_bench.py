"""``autoissue bench WORKLOAD``: run a benchmark and write its JSON (and Markdown) report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from autoissue.bench import COLUMNS, QueueBenchConfig, run_queue_bench
from autoissue.cli._errors import friendly_errors

__all__ = ["bench_command"]


@click.command("bench")
@click.argument("workload", type=click.Choice(sorted(COLUMNS)))
@click.option("--quick", is_flag=True, help="A small run that checks the bench works (for CI).")
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path), required=True, help="Report file."
)
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), help="Table file.")
@click.option("--items", type=click.IntRange(min=1), help="Items per drain (queue workload).")
@click.option("--batch", type=click.IntRange(min=1), help="Claim/ack batch size (batched mode).")
@click.option("--repeats", type=click.IntRange(min=1), help="Rounds; the report quotes medians.")
@click.option(
    "--redis",
    "redis_url",
    default="redis://127.0.0.1:6379/0",
    show_default=True,
    help="The Redis server to measure (each run uses, then deletes, its own key prefix).",
)
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(["memory", "sqlite", "redis"]),
    help="Measure only these backends (repeatable; default all).",
)
def bench_command(
    workload: str,
    quick: bool,
    json_path: Path,
    markdown_path: Path | None,
    backends: tuple[str, ...],
    **sizes: int | str | None,
) -> None:
    """Run the WORKLOAD benchmark (only ``queue`` for now) and write its report."""
    overrides: dict[str, Any] = {k: v for k, v in sizes.items() if v is not None}
    if backends:
        overrides["backends"] = backends
    config = QueueBenchConfig.quick(**overrides) if quick else QueueBenchConfig(**overrides)
    with friendly_errors():
        report = asyncio.run(run_queue_bench(config))
    report.write_json(json_path)
    if markdown_path is not None:
        markdown_path.write_text(report.to_markdown(COLUMNS[workload]), encoding="utf-8")
    for result in report.results:
        click.echo(
            f"{result['contender']:>16}: {result['claims_acks_per_s']:>12,.1f} claims+acks/s"
        )
    for backend, reason in report.params["skipped"].items():
        click.echo(f"{backend:>16}: skipped ({reason})")
