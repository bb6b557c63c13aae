"""The autouse guard: tests may talk to loopback only."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NetworkBlocked


def test_non_loopback_connections_fail_before_any_packet() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkBlocked):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkBlocked):
        sock.connect_ex(("198.51.100.7", 80))


def test_slack_default_url_is_blocked() -> None:
    from slack_sdk import WebClient

    client = WebClient(token="xoxb-x", timeout=1, retry_handlers=[])
    with pytest.raises(Exception) as caught:
        client.chat_postMessage(channel="C1", text="hi")
    assert "test tried to resolve 'slack.com'" in str(caught.value)


def test_loopback_is_allowed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
