from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from autoissue import ConfigurationError
from autoissue.processors import Triage, get_processor
from autoissue.processors._duplicates import Duplicates
from autoissue.processors._loading import ENTRY_POINT_GROUP
from autoissue.processors._registry import BUILTIN_PROCESSORS, available_processors
from autoissue.processors._stale import Stale
from tests.processors._plugins import READY, Echo

PLUGINS = "tests.processors._plugins"


@pytest.mark.parametrize(
    ("name", "kind"), [("triage", Triage), ("duplicates", Duplicates), ("stale", Stale)]
)
def test_builtins_are_known_by_name(name: str, kind: type) -> None:
    assert isinstance(get_processor(name), kind)
    assert name in BUILTIN_PROCESSORS
    assert name in available_processors()


def test_a_builtin_refuses_an_option_it_does_not_take() -> None:
    with pytest.raises(ConfigurationError, match="processor 'triage' raised TypeError"):
        get_processor("triage", colour="blue")


@pytest.mark.parametrize(
    ("spec", "options", "name"),
    [
        (f"{PLUGINS}:Echo", {}, "echo"),  # a processor class
        (f"{PLUGINS}:Echo", {"name": "hello"}, "hello"),
        (f"{PLUGINS}:make_echo", {"name": "made"}, "made"),  # a factory
        (f"{PLUGINS}:Namespace.factory", {}, "echo"),  # a dotted attribute path
    ],
)
def test_loads_module_callable(spec: str, options: dict[str, Any], name: str) -> None:
    processor = get_processor(spec, **options)
    assert isinstance(processor, Echo)
    assert processor.name == name


def test_a_processor_instance_is_used_as_it_is() -> None:
    assert get_processor(f"{PLUGINS}:READY") is READY
    with pytest.raises(ConfigurationError, match="is an instance: it takes no options"):
        get_processor(f"{PLUGINS}:READY", name="other")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_package_xyz:thing", "no module named 'no_such_package_xyz'"),
        ("tests.processors.nope:thing", "no module named 'tests.processors.nope'"),
        (
            "tests.processors._plugin_missing_dep:thing",
            "importing 'tests.processors._plugin_missing_dep' failed: No module named "
            "'autoissue_dependency_that_is_not_installed'",
        ),
        (
            "tests.processors._plugin_broken:thing",
            "raised RuntimeError: plugin exploded on import",
        ),
        (f"{PLUGINS}:Missing", f"'{PLUGINS}' has no attribute 'Missing'"),
        (f"{PLUGINS}:Namespace.missing", "has no attribute 'Namespace.missing'"),
        (f"{PLUGINS}:NOT_CALLABLE", "is a int, not a processor or a factory"),
        (
            f"{PLUGINS}:make_nothing",
            "made a object, which is not a processor "
            r"\(no name, no isolation, no select\(\), no async process\(\)\)",
        ),
        (f"{PLUGINS}:Sync", r"made a Sync, which is not a processor \(no async process\(\)\)"),
        (
            f"{PLUGINS}:PooledWithoutPrepare",
            r"not a processor \(isolation 'pool' but no async prepare\(\)\)",
        ),
        (f"{PLUGINS}:make_broken", "constructing processor .* raised RuntimeError: no config"),
        (f"{PLUGINS}:", "must look like 'package.module:callable'"),
        (":Echo", "must look like"),
        (f"{PLUGINS}:Echo:x", "must look like"),
    ],
)
def test_every_loading_failure_is_a_clear_configuration_error(spec: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        get_processor(spec)
    assert spec in str(caught.value)


def test_the_original_error_is_kept_as_the_cause() -> None:
    with pytest.raises(ConfigurationError) as caught:
        get_processor(f"{PLUGINS}:make_broken")
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_an_unknown_name_lists_what_is_known() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown processor 'nope'.*duplicates, stale"):
        get_processor("nope")


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution offering processors through the entry-point group."""
    (tmp_path / "acme_plugin.py").write_text(
        "from tests.processors._plugins import Echo\n", encoding="utf-8"
    )
    dist = tmp_path / "acme_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            [{ENTRY_POINT_GROUP}]
            acme-echo = acme_plugin:Echo
            acme-broken = acme_plugin:Missing
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.usefixtures("plugin_dist")
def test_loads_an_installed_entry_point_by_name() -> None:
    assert {"acme-echo", "acme-broken"} <= set(available_processors())
    processor = get_processor("acme-echo", name="from-plugin")
    assert processor.name == "from-plugin"


@pytest.mark.usefixtures("plugin_dist")
def test_a_broken_entry_point_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"'acme-broken' .*acme_plugin:Missing.*failed"):
        get_processor("acme-broken")
