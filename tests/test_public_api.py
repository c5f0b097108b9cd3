"""Each package's ``__all__`` is exactly its public surface, and every public name is documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import autoissue

SUBPACKAGES = (
    name
    for _, name, is_package in pkgutil.walk_packages(autoissue.__path__, "autoissue.")
    if is_package and not name.rsplit(".", 1)[-1].startswith("_")
)
PACKAGES = ["autoissue", *sorted(SUBPACKAGES)]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_") and not inspect.ismodule(value) and attr != "annotations"
    }
    assert set(module.__all__) == public | ({"__version__"} & set(module.__all__))


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_class_and_function_has_a_docstring(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    for attr in module.__all__:
        value = getattr(module, attr)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"
