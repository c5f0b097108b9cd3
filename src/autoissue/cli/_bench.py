"""``autoissue bench WORKLOAD``: run a benchmark and write its JSON (and Markdown) report.

``autoissue bench all`` runs every workload in turn and writes one document holding each
workload's report (see :mod:`autoissue.bench._suite`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from autoissue.bench import (
    ALL_CONTENDERS,
    COLUMNS,
    QUALITY_CONTENDERS,
    WORKLOADS,
    AdaptiveBenchConfig,
    AgentBenchConfig,
    BenchReport,
    FaultsBenchConfig,
    PoolBenchConfig,
    QualityBenchConfig,
    QueueBenchConfig,
    ScalingBenchConfig,
    TriageBenchConfig,
    plot_report,
    run_adaptive_bench,
    run_agent_bench,
    run_faults_bench,
    run_live_bench,
    run_pool_bench,
    run_quality_bench,
    run_queue_bench,
    run_scaling_bench,
    run_suite,
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


def _chosen(workload: str, options: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    chosen = options["contenders"]
    if not chosen:
        return {}
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise click.UsageError(
            f"--contender {unknown[0]} is not a {workload} contender (one of {', '.join(known)})"
        )
    return {"contenders": tuple(chosen)}


def _triage(workload: str, quick: bool, options: dict[str, Any]) -> BenchReport:
    overrides = {k: v for k, v in options.items() if k in {"issues", "repeats"}}
    overrides |= _chosen(workload, options, ALL_CONTENDERS)
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


def _faults(quick: bool, options: dict[str, Any]) -> BenchReport:
    overrides = {k: v for k, v in options.items() if k in {"issues", "repeats", "kills"}}
    config = FaultsBenchConfig.quick(**overrides) if quick else FaultsBenchConfig(**overrides)
    return run_faults_bench(config)


def _live(quick: bool, options: dict[str, Any]) -> BenchReport:
    overrides = {k: v for k, v in options.items() if k in {"issues", "repeats"}}
    return run_live_bench(quick=quick, **overrides)


def _pool(quick: bool, options: dict[str, Any]) -> BenchReport:
    overrides = {k: v for k, v in options.items() if k in {"issues", "repeats"}}
    config = PoolBenchConfig.quick(**overrides) if quick else PoolBenchConfig(**overrides)
    return run_pool_bench(config)


def _quality(quick: bool, options: dict[str, Any]) -> BenchReport:
    if "dataset" not in options:
        raise click.UsageError("the quality workload needs --dataset CSV (labelled issues)")
    keys = {"dataset", "test", "folds", "min_confidence"}
    overrides = {k: v for k, v in options.items() if k in keys}
    overrides |= _chosen("quality", options, QUALITY_CONTENDERS)
    make = QualityBenchConfig.quick if quick else QualityBenchConfig
    return run_quality_bench(make(**overrides))


_RUNNERS = {
    "queue": _queue,
    "scaling": _scaling,
    "adaptive": _adaptive,
    "agent": _agent,
    "faults": _faults,
    "live": _live,
    "pool": _pool,
    "quality": _quality,
}


def _run(workload: str, quick: bool, options: dict[str, Any]) -> BenchReport:
    if workload in _RUNNERS:
        return _RUNNERS[workload](quick, options)
    return _triage(workload, quick, options)


def _adaptive_line(result: dict[str, Any]) -> str:
    converged = (
        f", reconverged in {result['reconverge_s']:.1f} s" if "reconverge_s" in result else ""
    )
    share = result.get("vs_best_fixed", 0.0)
    return f"{result['issues_per_s']:>10,.1f} issues/s, {share:.2f} of the best fixed{converged}"


def _faults_line(result: dict[str, Any]) -> str:
    return (
        f"{result['kills']:.0f} kills, MTTR max {result['mttr_s']:.2f} s (median "
        f"{result['mttr_median_s']:.2f} s), lost {result['lost']:.0f}, "
        f"duplicate writes {result['duplicate_writes']:.0f}"
    )


def _quality_line(result: dict[str, Any]) -> str:
    return (
        f"macro F1 {result['f1_macro']:.3f} over {result['repos']} repositories, coverage "
        f"{result['coverage']:.2f}, {result['predictions_per_s']:,.0f} predictions/s"
    )


def _pool_line(result: dict[str, Any]) -> str:
    return (
        f"{result['issues_per_s']:>10,.1f} issues/s, lost {result['lost']:.0f}, failed "
        f"{result['failed']:.0f}, {result['pool_tasks']:,.0f} planned in "
        f"{result['pool_workers']:.0f} pool workers, {result['workers_killed']} killed"
    )


def _live_line(result: dict[str, Any]) -> str:
    latency = result["live_latency_s"]
    return (
        f"latency p50 {latency['p50']:.2f} s, p95 {latency['p95']:.2f} s, p99 "
        f"{latency['p99']:.2f} s; min fair share {result['min_fair_share']:.2f}; lost "
        f"{result['lost']:.0f}, duplicate writes {result['duplicate_writes']:.0f}"
    )


_LINES = {
    "queue": lambda result: f"{result['claims_acks_per_s']:>12,.1f} claims+acks/s",
    "quality": _quality_line,
    "adaptive": _adaptive_line,
    "faults": _faults_line,
    "pool": _pool_line,
    "live": _live_line,
}


def _echo_result(workload: str, result: dict[str, Any]) -> None:
    name = result["contender"]
    if "error" in result:
        click.echo(f"{name:>20}: failed ({result['error']})")
    elif workload == "scaling":
        for point in result["points"]:
            click.echo(
                f"{point['concurrency']:>20}: {point['issues_per_s']:>10,.1f} issues/s, "
                f"efficiency {point['efficiency']:.3f}"
            )
    elif workload in _LINES:
        click.echo(f"{name:>20}: {_LINES[workload](result)}")
    else:
        click.echo(
            f"{name:>20}: {result['issues_per_s']:>10,.1f} issues/s, "
            f"lost {result['lost']:.0f}, failed {result['failed']:.0f}"
        )


def _echo(workload: str, report: BenchReport) -> None:
    for result in report.results:
        _echo_result(workload, result)
    for name, value in report.ratios.items():
        click.echo(f"{name:>40}: {value:.2f}")
    for backend, reason in report.params.get("skipped", {}).items():
        click.echo(f"{backend:>20}: skipped ({reason})")


def _write(
    workload: str, report: BenchReport, json_path: Path, markdown: Path | None, plot: Path | None
) -> None:
    report.write_json(json_path)
    if plot is not None:
        plot_report(report, plot)
    if markdown is not None:
        markdown.write_text(report.to_markdown(COLUMNS[workload]), encoding="utf-8")
    _echo(workload, report)


def _bench_all(
    quick: bool, options: dict[str, Any], json_path: Path, markdown: Path | None, plot: Path | None
) -> None:
    def one(workload: str) -> BenchReport:
        click.echo(f"== {workload}")
        report = _run(workload, quick, options)
        _echo(workload, report)
        return report

    # The quality workload scores a dataset the user has: without one it is not part of "all".
    workloads = (*WORKLOADS, "quality") if "dataset" in options else WORKLOADS
    suite = run_suite(workloads, one, quick=quick)
    suite.write_json(json_path)
    if markdown is not None:
        markdown.write_text(suite.to_markdown(COLUMNS), encoding="utf-8")
    if plot is not None and "adaptive" in suite.reports:
        plot_report(suite.reports["adaptive"], plot)
    _echo_suite(suite.errors, len(suite.reports), len(workloads), sum(suite.seconds.values()))


def _echo_suite(errors: dict[str, str], ran: int, planned: int, seconds: float) -> None:
    """Which workloads failed and why, how many ran and how long; exit 1 if any failed."""
    for workload, error in errors.items():
        click.echo(f"{workload:>20}: failed ({error})")
    click.echo(f"bench all: {ran} of {planned} workloads in {seconds:,.1f} s")
    if errors:
        raise SystemExit(1)


@click.command("bench")
@click.argument("workload", type=click.Choice(["all", *sorted(COLUMNS)]))
@click.option("--quick", is_flag=True, help="A small run that checks the bench works (for CI).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), required=True)
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path))
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(path_type=Path),
    help="Draw a PNG (adaptive workload, or all).",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=1.0),
    help="Timeline length in seconds, changes scaled with it (adaptive workload).",
)
@click.option("--repeats", type=click.IntRange(min=1), help="Rounds; the report quotes medians.")
@click.option(
    "--issues",
    type=click.IntRange(min=1),
    help="Repository size (triage family, agent, faults, pool; live: backlog per repository).",
)
@click.option(
    "--contender",
    "contenders",
    multiple=True,
    type=click.Choice([*ALL_CONTENDERS, *QUALITY_CONTENDERS]),
    help="Run only these contenders (repeatable; default all).",
)
@click.option(
    "--dataset",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Labelled issues, CSV with repo,label,title,body (quality workload; all runs it too).",
)
@click.option(
    "--test",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Score on this CSV instead of cross-validating the dataset (quality workload).",
)
@click.option(
    "--folds", type=click.IntRange(min=2), help="Cross-validation folds (quality; default 5)."
)
@click.option(
    "--min-confidence",
    type=click.FloatRange(0.0, 1.0),
    help="Abstain below this confidence (quality workload; default 0: always answer).",
)
@click.option("--items", type=click.IntRange(min=1), help="Items per drain (queue workload).")
@click.option("--batch", type=click.IntRange(min=1), help="Claim/ack batch size (queue workload).")
@click.option("--kills", type=click.IntRange(min=1), help="SIGKILLs of the run (faults workload).")
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
    """Run the WORKLOAD benchmark (BENCH.md) and write its report.

    WORKLOAD "all" runs every workload in turn (quality too when --dataset is given), each
    with every contender, and writes ONE
    JSON document, {"workload": "all", "reports": {WORKLOAD: its report}, "seconds":
    {WORKLOAD: s}, "errors": {WORKLOAD: message}}; --markdown gets a table of what ran and
    then every workload's table, --plot the adaptive workload's plot. Options that size a
    workload apply to every workload that has them. A workload that fails is reported, the
    others still run, and the exit status is 1.
    """
    if plot_path is not None and workload not in {"adaptive", "all"}:
        raise click.UsageError("--plot is for the adaptive workload (or all)")
    options = {k: v for k, v in options.items() if v is not None and v != ()} | {
        "backends": options["backends"],
        "contenders": options["contenders"],
    }
    if workload == "all":
        _bench_all(quick, options, json_path, markdown_path, plot_path)
        return
    with friendly_errors():
        report = _run(workload, quick, options)
    _write(workload, report, json_path, markdown_path, plot_path)
