"""EmulatorConfig: defaults, validation, exports."""

from __future__ import annotations

import dataclasses

import pytest

import autoissue.emulator
from autoissue import ConfigurationError
from autoissue.emulator import EmulatorConfig


def test_defaults_and_parts() -> None:
    config = EmulatorConfig()
    assert (config.host, config.port, config.repo, config.issues) == (
        "127.0.0.1",
        0,
        "acme/widgets",
        1000,
    )
    assert (config.limits, config.latency_ms, config.faults, config.tokens) == (
        "none",
        0.0,
        0.0,
        None,
    )
    assert (config.owner, config.name) == ("acme", "widgets")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        EmulatorConfig("0.0.0.0")  # type: ignore[misc]  # noqa: S104


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"host": ""}, "host"),
        ({"port": 70000}, "port"),
        ({"repo": "nope"}, "repo"),
        ({"issues": -1}, "issues"),
        ({"latency_ms": -5.0}, "latency_ms"),
        ({"latency_ms": float("nan")}, "latency_ms"),
        ({"capacity": -1}, "capacity"),
        ({"faults": 1.5}, "faults"),
        ({"limits": "gitlab"}, "limits"),
        ({"time_scale": 0.0}, "time_scale"),
        ({"tokens": frozenset({""})}, "tokens"),
    ],
)
def test_bad_values_are_configuration_errors(options: dict[str, object], word: str) -> None:
    with pytest.raises(ConfigurationError, match=word):
        EmulatorConfig(**options)  # type: ignore[arg-type]


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(autoissue.emulator) if not name.startswith("_")}
    modules = {name for name in public if name in ("annotations",)}
    assert set(autoissue.emulator.__all__) == public - modules
