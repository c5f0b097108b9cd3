from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autoissue import ConfigurationError
from autoissue.processors import CommandProcessor, coerce_options, get_processor
from autoissue.processors._duplicates import Duplicates
from autoissue.processors._options import option_names
from autoissue.processors._stale import Stale

PLUGINS = "tests.processors._plugins"
TUNED = "tests.processors._option_plugins:Tuned"


def test_stale_settings_from_the_command_line_build_a_stale_processor_with_them() -> None:
    given = {
        "days_before_stale": "30",
        "days_before_close": "never",
        "exempt_labels": "pinned, Roadmap",
        "remove_stale_when_updated": "no",
        "close_reason": "completed",
        "stale_message": "Still there?",
        "mark_grace_seconds": "12.5",
    }
    options = coerce_options("stale", given)
    assert options == {
        "days_before_stale": 30.0,
        "days_before_close": None,
        "exempt_labels": frozenset({"pinned", "Roadmap"}),
        "remove_stale_when_updated": False,
        "close_reason": "completed",
        "stale_message": "Still there?",
        "mark_grace_seconds": 12.5,
    }
    processor = get_processor("stale", **options)
    assert isinstance(processor, Stale)
    config = processor.config
    assert (config.days_before_stale, config.days_before_close) == (30.0, None)
    assert config.exempt_labels == {"pinned", "roadmap"}
    assert config.remove_stale_when_updated is False
    assert config.close_reason == "completed"
    assert config.warning.startswith("Still there?")
    assert config.mark_grace_seconds == 12.5


def test_values_a_toml_file_gives_in_their_type_pass_through() -> None:
    table = {
        "days_before_stale": 30,  # TOML integer for a number of days
        "days_before_close": 2.5,
        "exempt_labels": ["pinned", "roadmap"],
        "exempt_all_assignees": True,
        "stale_label": "inactive",
    }
    options = coerce_options("stale", table)
    assert options["days_before_stale"] == 30.0
    assert isinstance(options["days_before_stale"], float)
    assert options["days_before_close"] == 2.5
    assert options["exempt_labels"] == frozenset({"pinned", "roadmap"})
    assert options["exempt_all_assignees"] is True
    assert options["stale_label"] == "inactive"
    assert coerce_options("stale", {"days_before_close": None}) == {"days_before_close": None}
    assert coerce_options("stale", {}) == {}


def test_an_unknown_key_is_named_with_every_known_one() -> None:
    with pytest.raises(ConfigurationError) as caught:
        coerce_options("stale", {"days_before_stale": 3, "days_befor_stale": 30})
    message = str(caught.value)
    assert message.startswith(
        "processor stale has no option 'days_befor_stale' "
        "(known: close_message, close_reason, days_before_close, days_before_stale, "
    )
    assert message.endswith("stale_label, stale_message)")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("days_before_stale", "soon", "option days_before_stale: expected a number, got 'soon'"),
        ("days_before_close", True, "option days_before_close: expected a number, got True"),
        ("mark_grace_seconds", "never", "expected a number, got 'never'"),  # not None-able
        ("remove_stale_when_updated", "maybe", "expected true or false, got 'maybe'"),
        ("remove_stale_when_updated", 1, "expected true or false, got 1"),
        ("exempt_labels", 5, "option exempt_labels: expected a list of names, got 5"),
        ("exempt_labels", ["ok", 5], "expected a list of names, got \\['ok', 5\\]"),
        ("stale_label", 3, "option stale_label: expected a string, got 3"),
    ],
)
def test_a_wrong_type_names_the_key_and_the_type(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^processor stale .*{message}$"):
        coerce_options("stale", {key: value})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("Yes", True),
        (" on ", True),
        ("1", True),
        ("false", False),
        ("NO", False),
        ("off", False),
        ("0", False),
    ],
)
def test_booleans_accept_the_usual_words(text: str, expected: bool) -> None:
    assert coerce_options("stale", {"exempt_all_milestones": text}) == {
        "exempt_all_milestones": expected
    }


@pytest.mark.parametrize("text", ["none", "Never", " NONE "])
def test_none_or_never_turns_a_day_limit_off(text: str) -> None:
    options = coerce_options("stale", {"days_before_stale": text})
    assert options == {"days_before_stale": None}
    assert get_processor("stale", **options).config.days_before_stale is None  # type: ignore[attr-defined]


def test_names_split_on_commas() -> None:
    options = coerce_options(
        "stale", {"exempt_labels": " pinned,, security ,roadmap", "only_labels": ""}
    )
    assert options == {
        "exempt_labels": frozenset({"pinned", "security", "roadmap"}),
        "only_labels": frozenset(),
    }


def test_each_builtin_lists_its_options() -> None:
    assert option_names("triage") == [
        "abstain_label",
        "fallback",
        "labels",
        "learn",
        "min_confidence",
        "min_labelled",
        "retrain_after",
    ]
    assert option_names("duplicates") == ["max_features", "max_matches", "older_only", "threshold"]
    stale = option_names("stale")
    assert stale == sorted(stale)
    assert {"days_before_stale", "days_before_close", "exempt_labels", "stale_message"} <= set(
        stale
    )
    assert "clock" not in stale  # no file or flag can spell a clock


def test_duplicates_options_are_coerced_and_checked() -> None:
    options = coerce_options(
        "duplicates", {"threshold": "0.8", "max_matches": "2", "older_only": "no"}
    )
    assert options == {"threshold": 0.8, "max_matches": 2, "older_only": False}
    processor = get_processor("duplicates", **options)
    assert isinstance(processor, Duplicates)
    assert (processor.threshold, processor.max_matches, processor.older_only) == (0.8, 2, False)
    with pytest.raises(
        ConfigurationError, match=r"max_matches: expected a whole number, got '2\.5'"
    ):
        coerce_options("duplicates", {"max_matches": "2.5"})
    with pytest.raises(ConfigurationError, match="has no option 'corpus'"):
        coerce_options("duplicates", {"corpus": []})


def test_triage_options_are_coerced_and_an_unknown_one_named() -> None:
    options = coerce_options(
        "triage",
        {"learn": "yes", "labels": "bug,feature,question", "min_confidence": "0.6"},
    )
    assert options == {
        "learn": True,
        "labels": ("bug", "feature", "question"),
        "min_confidence": 0.6,
    }
    with pytest.raises(ConfigurationError, match=r"^processor triage option fallback: expected"):
        coerce_options("triage", {"fallback": "guess"})
    with pytest.raises(ConfigurationError, match=r"^processor triage has no option 'colour'"):
        coerce_options("triage", {"colour": "blue"})
    assert coerce_options("triage", {}) == {}


def test_command_takes_its_plain_options_and_leaves_the_rest_to_the_command_line() -> None:
    names = option_names("command")
    assert {"timeout_s", "max_agents", "draft", "pr_labels", "pass_env", "name"} <= set(names)
    assert not {"preset", "argv", "git_token", "trust", "state_dir", "env"} & set(names)
    options = coerce_options(
        "command", {"timeout_s": "60", "draft": "yes", "pr_labels": "bot, automated"}
    )
    assert options == {"timeout_s": 60.0, "draft": True, "pr_labels": ("bot", "automated")}
    processor = get_processor("command", **options)
    assert isinstance(processor, CommandProcessor)
    assert processor.config.timeout_s == 60.0
    assert processor.config.pr_labels == ("bot", "automated")
    with pytest.raises(ConfigurationError, match="has no option 'git_token'"):
        coerce_options("command", {"git_token": "secret"})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("level", "7", 7),
        ("ratio", "0.25", 0.25),
        ("ratio", 2, 2.0),
        ("verbose", "yes", True),
        ("tags", "a, b", ("a", "b")),
        ("tags", ["a", "b"], ("a", "b")),
        ("ids", "3,1, 2", frozenset({1, 2, 3})),
        ("ids", [1, 2], frozenset({1, 2})),
        ("weights", "1, 2.5", (1.0, 2.5)),
        ("mode", "slow", "slow"),
        ("mode", " fast ", "fast"),
        ("limit", "never", None),
        ("limit", "5", 5),
        ("label", "none", "none"),  # a string may well be "none"
        ("label", None, None),
        ("out", "reports", Path("reports")),
        ("out", Path("/tmp/x"), Path("/tmp/x")),  # noqa: S108 - never opened
        ("extra", {"any": ["thing"]}, {"any": ["thing"]}),
        ("untyped", 3, 3),
    ],
)
def test_a_plugin_class_declares_its_options_by_its_signature(
    key: str, value: object, expected: object
) -> None:
    assert coerce_options(TUNED, {key: value}) == {key: expected}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("level", 2.5, "level: expected a whole number, got 2.5"),
        ("ids", "1,x", "ids: expected a list of whole numbers, got '1,x'"),
        ("weights", {"a": 1}, "weights: expected a list of numbers"),
        ("mode", "medium", "mode: expected one of fast, slow, got 'medium'"),
        ("limit", "lots", "limit: expected a whole number, got 'lots'"),
        ("out", 5, "out: expected a path, got 5"),
    ],
)
def test_a_plugin_option_of_the_wrong_type_is_refused(
    key: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"^processor {TUNED} option {message}"):
        coerce_options(TUNED, {key: value})


def test_plugin_parameters_no_setting_can_spell_are_not_options() -> None:
    names = option_names(TUNED)
    assert "level" in names
    assert not {"clock", "pair", "either"} & set(names)
    with pytest.raises(ConfigurationError, match="has no option 'pair'"):
        coerce_options(TUNED, {"pair": ["a", "b"]})
    options = coerce_options(TUNED, {"level": "2", "tags": "x"})
    processor: Any = get_processor(TUNED, **options)
    assert (processor.level, processor.tags) == (2, ("x",))


def test_a_factory_taking_any_option_gets_undeclared_ones_as_they_are() -> None:
    spec = "tests.processors._option_plugins:make_loose"
    assert option_names(spec) == ["level"]
    options = coerce_options(spec, {"level": "3", "colour": "blue", "size": 4})
    assert options == {"level": 3, "colour": "blue", "size": 4}
    assert get_processor(spec, **options).name == "loose-3-2"
    assert coerce_options(f"{PLUGINS}:make_echo", {"name": "x"}) == {"name": "x"}


def test_annotations_that_cannot_be_read_check_nothing() -> None:
    spec = "tests.processors._option_plugins:make_unreadable"
    assert option_names(spec) == ["amount"]
    assert coerce_options(spec, {"amount": "3"}) == {"amount": "3"}
    with pytest.raises(ConfigurationError, match="has no option 'volume'"):
        coerce_options(spec, {"volume": 1})


def test_a_callable_without_a_signature_takes_keys_as_given() -> None:
    assert option_names("builtins:dict") == []
    assert coerce_options("builtins:dict", {"a": "1"}) == {"a": "1"}


@pytest.mark.parametrize("spec", [f"{PLUGINS}:READY", f"{PLUGINS}:NOT_CALLABLE"])
def test_a_processor_instance_or_a_plain_value_takes_no_options(spec: str) -> None:
    assert option_names(spec) == []
    assert coerce_options(spec, {}) == {}
    with pytest.raises(ConfigurationError, match=r"has no option 'name' \(it takes none\)"):
        coerce_options(spec, {"name": "other"})


def test_an_unknown_processor_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown processor 'nope'"):
        coerce_options("nope", {})
    with pytest.raises(ConfigurationError, match="unknown processor 'nope'"):
        option_names("nope")
