"""Setting a receiver up: options, the secret, the server's lifecycle."""

from __future__ import annotations

import hashlib
import hmac
import pickle
import socket

import pytest

from autoissue import ConfigurationError
from autoissue.serve import (
    GITHUB_MAX_PAYLOAD_BYTES,
    WebhookOptions,
    WebhookReceiver,
    WebhookServer,
    signature_for,
)
from autoissue.serve._signature import Secret
from autoissue.state import MemoryStateStore

from .conftest import SECRET, RecordingAdmission


def receiver(**options: object) -> WebhookReceiver:
    return WebhookReceiver(
        secret=SECRET,
        admission=RecordingAdmission(),
        state=MemoryStateStore(),
        options=WebhookOptions(**options),  # type: ignore[arg-type]
    )


def test_the_signature_is_githubs_hmac_sha256_of_the_raw_body() -> None:
    # The example GitHub's documentation gives for validating deliveries.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_for(b"Hello, World!", SECRET) == expected
    assert signature_for(b"Hello, World!", SECRET.encode()) == expected
    digest = hmac.new(b"k", b"body", hashlib.sha256).hexdigest()
    assert signature_for(b"body", "k") == f"sha256={digest}"


def test_a_secret_never_shows_itself_and_is_never_pickled() -> None:
    secret = Secret(SECRET)
    assert SECRET not in repr(secret)
    assert SECRET not in str(secret)
    assert SECRET not in repr(receiver())
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    assert not secret.verifies(None, b"")


@pytest.mark.parametrize("empty", ["", b""])
def test_an_empty_secret_is_refused(empty: str | bytes) -> None:
    with pytest.raises(ConfigurationError, match="secret is empty"):
        Secret(empty)


def test_the_defaults_follow_githubs_limits() -> None:
    options = WebhookOptions()
    assert options.max_body_bytes == GITHUB_MAX_PAYLOAD_BYTES == 25 * 1024 * 1024
    assert options.offer_timeout_s < 10  # GitHub gives up on a delivery after 10 s
    assert options.remember_s == 24 * 3600
    assert options.path == "/webhook"


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"path": "webhook"}, "must start with /"),
        ({"path": "/healthz"}, "not /healthz"),
        ({"path": "/metrics"}, "not /healthz or /metrics"),
        ({"max_body_bytes": 0}, "max_body_bytes must be positive"),
        ({"offer_timeout_s": 0}, "offer_timeout_s must be positive"),
        ({"remember_s": -1}, "remember_s must be positive"),
        ({"log_interval_s": -1}, "log_interval_s must not be negative"),
    ],
)
def test_bad_options_are_refused(changes: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        WebhookOptions(**changes)  # type: ignore[arg-type]


async def test_a_server_binds_a_free_port_and_stops_cleanly() -> None:
    server = WebhookServer(receiver())
    assert "(stopped)" in repr(server)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    port = await server.start()
    assert port == server.bound_port > 0
    assert server.url == f"http://127.0.0.1:{port}/webhook"
    await server.stop()
    await server.stop()
    assert "(stopped)" in repr(server)
    with socket.create_server(("127.0.0.1", port)):  # the port is free again
        pass


async def test_an_ipv6_address_is_bracketed_in_the_url() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        async with WebhookServer(receiver(), host="::1") as server:
            assert server.url.startswith("http://[::1]:")
    except ConfigurationError:
        pytest.skip("::1 cannot be bound here")


async def test_a_port_in_use_is_a_configuration_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError, match=f"cannot serve webhooks on 127.0.0.1:{port}"):
            await WebhookServer(receiver(), port=port).start()
