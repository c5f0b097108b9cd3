"""The environments our child processes get: scrubbed for the agent, credentials for git only."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping

__all__ = ["BASE_ENV", "git_env", "scrubbed_env", "without_credentials"]

#: What a child inherits from our environment by default: enough to find programs, a home, a
#: locale and a temporary directory, and no credential of any kind.
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")

# Our git commands must not pick up a user's identity or a GIT_DIR meant for something else.
_GIT_FIXED = {
    "GIT_TERMINAL_PROMPT": "0",  # never wait for a password nobody will type
    "GIT_CONFIG_NOSYSTEM": "1",
}


def scrubbed_env(
    source: Mapping[str, str],
    *,
    passthrough: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The names of :data:`BASE_ENV` and ``passthrough`` found in ``source``, then ``extra``.

    Nothing else crosses: ``GITHUB_TOKEN`` and its like reach a child only when configured.
    """
    names = (*BASE_ENV, *passthrough)
    env = {name: source[name] for name in names if name in source}
    return env | dict(extra or {})


def git_env(
    source: Mapping[str, str], *, author: tuple[str, str], token: str | None = None
) -> dict[str, str]:
    """The environment of our own git commands: scrubbed, an identity, and the token if any.

    The token travels as an ``http.extraHeader`` through ``GIT_CONFIG_*`` variables, so it is
    never written to a config file, a remote URL or a command line (which ``ps`` shows).
    """
    name, email = author
    env = scrubbed_env(source) | _GIT_FIXED
    env |= {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return env


def without_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` less the ``GIT_CONFIG_*`` variables :func:`git_env` carries the token in.

    For git commands that never reach the network (add, diff, commit): they may run filters
    and the like that the repository's configuration names, and those must not see it.
    """
    return {name: value for name, value in env.items() if not name.startswith("GIT_CONFIG_")}
