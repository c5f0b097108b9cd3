"""``autoissue bench WORKLOAD``: run a benchmark and write its JSON (and Markdown) report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from autoissue.bench import (
    ALL_CONTENDERS,
    COLUMNS,
    AdaptiveBenchConfig,
    AgentBenchConfig,
    BenchReport,
    QueueBenchConfig,
    ScalingBenchConfig,
    TriageBenchConfig,
    plot_report,
    run_adaptive_bench,
    run_agent_bench,
    run_queue_bench,
    run_scaling_bench,
    run_triage_bench,
)
from autoissue.cli._errors import friendly_errors

__all__ = ["bench_command"]


def _queue(quick: bool, options: dict[str, Any]) -> BenchReport:
    overrides = {
        k: v for k, v in options.items() if k in {"items", "batch", "repeats", "redis_url"}
    }
    if options["backends"]:
        overrides["backends"] = options["backends"]
    config = QueueBenchConfig.quick(**overrides) if quick else QueueBenchConfig(**overrides)
    return asyncio.run(run_queue_bench(config))


def _triage(workload: str, quick: bool, options: dict[str, Any]) -> BenchReport:
    overrides = {k: v for k, v in options.items() if k in {"issues", "repeats"}}
    if options["contenders"]:
        overrides["contenders"] = options["contenders"]
    return run_triage_bench(TriageBenchConfig.for_workload(workload, quick=quick, **overrides))


def _scaling(quick: bool, options: dict[str, Any]) -> BenchReport:
    overrides = {k: v for k, v in options.items() if k in {"repeats"}}
    config = ScalingBenchConfig.quick(**overrides) if quick else ScalingBenchConfig(**overrides)
    return run_scaling_bench(config)


def _adaptive(quick: bool, options: dict[str, Any]) -> BenchReport:
    overrides = {k: v for k, v in options.items() if k in {"repeats"}}
    config = AdaptiveBenchConfig.quick(**overrides) if quick else AdaptiveBenchConfig(**overrides)
    if "duration" in options:
        config = config.scaled(options["duration"])
    return run_adaptive_bench(config)


def _agent(quick: bool, options: dict[str, Any]) -> BenchReport:
    overrides = {k: v for k, v in options.items() if k in {"issues", "repeats"}}
    config = AgentBenchConfig.quick(**overrides) if quick else AgentBenchConfig(**overrides)
    return run_agent_bench(config)


def _run(workload: str, quick: bool, options: dict[str, Any]) -> BenchReport:
    if workload == "queue":
        return _queue(quick, options)
    if workload == "scaling":
        return _scaling(quick, options)
    if workload == "adaptive":
        return _adaptive(quick, options)
    if workload == "agent":
        return _agent(quick, options)
    return _triage(workload, quick, options)


def _echo_result(workload: str, result: dict[str, Any]) -> None:
    name = result["contender"]
    if "error" in result:
        click.echo(f"{name:>20}: failed ({result['error']})")
    elif workload == "queue":
        click.echo(f"{name:>20}: {result['claims_acks_per_s']:>12,.1f} claims+acks/s")
    elif workload == "scaling":
        for point in result["points"]:
            click.echo(f"{point['concurrency']:>20}: {point['issues_per_s']:>10,.1f} issues/s, "
                       f"efficiency {point['efficiency']:.3f}")  # fmt: skip
    elif workload == "adaptive":
        converged = (
            f", reconverged in {result['reconverge_s']:.1f} s" if "reconverge_s" in result else ""
        )
        share = result.get("vs_best_fixed", 0.0)
        click.echo(f"{name:>20}: {result['issues_per_s']:>10,.1f} issues/s, "
                   f"{share:.2f} of the best fixed{converged}")  # fmt: skip
    else:
        click.echo(f"{name:>20}: {result['issues_per_s']:>10,.1f} issues/s, "
                   f"lost {result['lost']:.0f}, failed {result['failed']:.0f}")  # fmt: skip


def _echo(workload: str, report: BenchReport) -> None:
    for result in report.results:
        _echo_result(workload, result)
    for name, value in report.ratios.items():
        click.echo(f"{name:>40}: {value:.2f}")
    for backend, reason in report.params.get("skipped", {}).items():
        click.echo(f"{backend:>20}: skipped ({reason})")


@click.command("bench")
@click.argument("workload", type=click.Choice(sorted(COLUMNS)))
@click.option("--quick", is_flag=True, help="A small run that checks the bench works (for CI).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), required=True)
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path))
@click.option(
    "--plot", "plot_path", type=click.Path(path_type=Path), help="Draw a PNG (adaptive workload)."
)
@click.option(
    "--duration",
    type=click.FloatRange(min=1.0),
    help="Timeline length in seconds, changes scaled with it (adaptive workload).",
)
@click.option("--repeats", type=click.IntRange(min=1), help="Rounds; the report quotes medians.")
@click.option("--issues", type=click.IntRange(min=1), help="Repository size (triage workloads).")
@click.option(
    "--contender",
    "contenders",
    multiple=True,
    type=click.Choice(ALL_CONTENDERS),
    help="Run only these contenders (repeatable; default all).",
)
@click.option("--items", type=click.IntRange(min=1), help="Items per drain (queue workload).")
@click.option("--batch", type=click.IntRange(min=1), help="Claim/ack batch size (queue workload).")
@click.option("--redis", "redis_url", default="redis://127.0.0.1:6379/0", show_default=True)
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(["memory", "sqlite", "redis"]),
    help="Queue backends to measure (repeatable; default all).",
)
def bench_command(
    workload: str,
    quick: bool,
    json_path: Path,
    markdown_path: Path | None,
    plot_path: Path | None,
    **options: Any,
) -> None:
    """Run the WORKLOAD benchmark (BENCH.md) and write its report."""
    if plot_path is not None and workload != "adaptive":
        raise click.UsageError("--plot is for the adaptive workload")
    options = {k: v for k, v in options.items() if v is not None and v != ()} | {
        "backends": options["backends"],
        "contenders": options["contenders"],
    }
    with friendly_errors():
        report = _run(workload, quick, options)
    report.write_json(json_path)
    if plot_path is not None:
        plot_report(report, plot_path)
    if markdown_path is not None:
        markdown_path.write_text(report.to_markdown(COLUMNS[workload]), encoding="utf-8")
    _echo(workload, report)
