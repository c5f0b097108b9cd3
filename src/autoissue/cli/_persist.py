"""What ``autoissue run`` keeps between runs under its state directory: the ETag cache."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from autoissue._exceptions import MalformedResponseError
from autoissue.github import ETagCache, budget_key, dump_cache, load_cache

logger = logging.getLogger(__name__)


def etag_cache_path(state_dir: Path, base_url: str, identity: str) -> Path:
    """Where the ETag cache of one token on one host is kept (ETags vary with the token)."""
    digest = budget_key(base_url, identity).rsplit(":", 1)[-1]
    return state_dir / "etag-cache" / f"{digest}.msgpack"


def load_etags(path: Path) -> ETagCache:
    """The cache saved at ``path``; an empty one when there is none or it is damaged."""
    cache = ETagCache()
    try:
        restored = load_cache(cache, path.read_bytes())
    except FileNotFoundError:
        return cache
    except (OSError, MalformedResponseError) as error:
        logger.warning("ignoring the saved ETag cache %s: %s", path, error)
        return ETagCache()
    logger.info("restored %d cached answers from %s", restored, path)
    return cache


def save_etags(cache: ETagCache, path: Path) -> None:
    """Save the cache at ``path`` atomically (a crash leaves the previous one whole).

    The cache only saves requests on the next run, so a disk that refuses it (full, read-only)
    costs a warning, never the run's summary.
    """
    partial = path.with_suffix(".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(dump_cache(cache))
        partial.replace(path)
    except OSError as error:
        click.echo(f"warning: could not save the ETag cache {path}: {error}", err=True)


def backend_dsn(backend: str | None, state_dir: Path) -> str:
    """The backend a command was given, else the SQLite file in its state directory."""
    return backend or f"sqlite:///{state_dir / 'state.db'}"
