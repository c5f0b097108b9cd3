"""The ``autoissue`` command line."""

from __future__ import annotations

from autoissue.cli._main import main

__all__ = ["main"]
