"""GitHub's protocol details as pure functions: links, repository names, error answers."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import msgspec

from autoissue._exceptions import (
    AuthenticationError,
    ConfigurationError,
    GitHubError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationFailedError,
)

_LINK_PART = re.compile(r'<([^>]*)>\s*;\s*rel="?([^",]+)"?')
# GitHub's own rules: owners are alphanumerics and single hyphens; names add "_" and ".".
_REPO_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})$")


def parse_link_header(value: str | None) -> dict[str, str]:
    """Map each ``rel`` of a ``Link`` header to its URL (``{}`` for no header)."""
    if not value:
        return {}
    return {rel: url for url, rel in _LINK_PART.findall(value)}


def normalise_base_url(base_url: str) -> str:
    """Check that ``base_url`` is an http(s) URL and drop any trailing slash."""
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigurationError(f"base URL must be http(s)://HOST[/PATH], got {base_url!r}")
    return base_url.rstrip("/")


def parse_repo_name(text: str) -> tuple[str, str]:
    """Split ``OWNER/NAME`` into its parts, refusing anything GitHub would not accept."""
    match = _REPO_NAME.match(text.strip())
    if not match or match.group(2) in {".", ".."}:
        raise ConfigurationError(f"repository must look like OWNER/NAME, got {text!r}")
    return match.group(1), match.group(2)


class _ErrorBody(msgspec.Struct):
    message: str = ""


def error_message(body: bytes) -> str:
    """GitHub's ``message`` from an error answer, or the start of a body that is not JSON."""
    try:
        return msgspec.json.decode(body, type=_ErrorBody).message
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:200].decode("utf-8", "replace").strip()


def is_rate_limited(status: int, headers: dict[str, str], message: str) -> bool:
    """Whether a 403 or 429 answer is a rate limit rather than a permission problem."""
    if status == 429:
        return True
    lowered = message.lower()
    return status == 403 and (
        headers.get("x-ratelimit-remaining") == "0"
        or "rate limit" in lowered
        or "abuse detection" in lowered
        or "retry-after" in headers
    )


def _retry_after(headers: dict[str, str]) -> float | None:
    try:
        return float(headers["retry-after"])
    except (KeyError, ValueError):
        return None


def error_for(
    status: int, headers: dict[str, str], body: bytes, *, method: str, url: str
) -> GitHubError:
    """The exception that describes an error answer; ``headers`` keys are lower-case."""
    message = error_message(body) or f"HTTP {status}"
    kwargs = {"status": status, "method": method, "url": url}
    if is_rate_limited(status, headers, message):
        error = RateLimitedError(message, **kwargs)  # type: ignore[arg-type]
        error.retry_after = _retry_after(headers)
        return error
    kind: type[GitHubError] = {
        401: AuthenticationError,
        404: NotFoundError,
        422: ValidationFailedError,
    }.get(status, ServerError if status >= 500 else GitHubError)
    return kind(message, status=status, method=method, url=url)


# Endpoints that trigger notifications: GitHub's content-creation limits apply to them.
CONTENT_ENDPOINTS = frozenset(
    {
        "POST /repos/{owner}/{repo}/issues",
        "POST /repos/{owner}/{repo}/issues/{n}/comments",
        "POST /repos/{owner}/{repo}/pulls",
        "POST /repos/{owner}/{repo}/pulls/{n}/comments",
        "POST /repos/{owner}/{repo}/pulls/{n}/reviews",
    }
)


def endpoint_template(method: str, path: str) -> str:
    """The endpoint class of a request, e.g. ``GET /repos/{owner}/{repo}/issues/{n}``.

    GitHub's secondary limits count points per endpoint, and health statistics group by
    it; owner, repository, numbers and label names are replaced by placeholders.
    """
    parts = path.split("?", 1)[0].strip("/").split("/")
    if parts[0] == "repos" and len(parts) >= 3:
        parts[1:3] = ["{owner}", "{repo}"]
    elif parts[0] == "repositories" and len(parts) >= 2:
        parts[1] = "{id}"
    for index, part in enumerate(parts):
        if part.isdigit():
            parts[index] = "{n}"
        elif index and parts[index - 1] == "labels" and parts[0] in {"repos", "repositories"}:
            parts[index] = "{name}"
    return f"{method.upper()} /{'/'.join(parts)}"


def server_time(headers: Mapping[str, str]) -> str:
    """The answer's ``Date`` header as ``updated_at`` writes it (``""`` when absent or bad)."""
    return _utc_stamp(headers.get("date", ""))


@functools.lru_cache(maxsize=8)
def _utc_stamp(date: str) -> str:
    # The Date header changes once a second, and every write reads it: parse each value once.
    try:
        stamp = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return ""
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
