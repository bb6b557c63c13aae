"""Shared fixtures: no network but loopback, a clean environment, a fake Slack."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.helpers import throwaway_postgres


class NetworkBlocked(RuntimeError):
    """A test tried to reach a non-loopback address."""


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any lookup or connection that is not for loopback or a local socket file."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkBlocked(f"test tried to connect to {address!r}")

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # Name lookups are traffic too (and leak which service a test would reach).
        if host is not None and not _is_loopback(host if isinstance(host, str) else host.decode()):
            raise NetworkBlocked(f"test tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No PULSO_* variable from the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("PULSO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`pulso` commands run in-process set up logging on the test's stderr: undo it."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API on 127.0.0.1 that the real slack-sdk talks to."""
    with FakeSlack(token="xoxb-test-token", channels=("C0PULSO", "#cx-alerts")) as fake:
        yield fake


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack) -> FakeSlack:
    """Slack configured the way a user does it: by environment alone."""
    monkeypatch.setenv("PULSO_SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("PULSO_SLACK_CHANNEL", "#cx-alerts")
    monkeypatch.setenv("PULSO_SLACK_API_URL", fake_slack.base_url)
    return fake_slack


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new empty database on the local PostgreSQL server, dropped afterwards."""
    with throwaway_postgres() as url:
        yield url
