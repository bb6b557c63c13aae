"""Tests for the fake Slack Web API server, exercised through the real slack-sdk WebClient."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler

from tests.fakes.slack_api import FAKE_BOT_ID, FakeSlack

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*spike* on #pulso"}}]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running FakeSlack, stopped after the test."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    """A real WebClient pointed at the fake, with no retry handlers."""
    return WebClient(
        token=fake_slack.token, base_url=fake_slack.base_url, timeout=1, retry_handlers=[]
    )


def test_base_url_keeps_trailing_slash(fake_slack: FakeSlack) -> None:
    assert fake_slack.base_url == f"http://127.0.0.1:{fake_slack.port}/api/"


def test_auth_test(client: WebClient) -> None:
    response = client.auth_test()
    assert response["ok"] is True
    assert response["bot_id"] == FAKE_BOT_ID


def test_post_message_is_recorded(fake_slack: FakeSlack, client: WebClient) -> None:
    response = client.chat_postMessage(channel="C0PULSO", text="hello", blocks=BLOCKS)

    assert response.status_code == 200
    assert response["channel"] == "C0PULSO"
    assert response["message"]["text"] == "hello"
    assert response["message"]["blocks"] == BLOCKS
    assert response["message"]["bot_id"] == FAKE_BOT_ID
    assert response["message"]["ts"] == response["ts"]

    [message] = fake_slack.messages
    assert message["channel"] == "C0PULSO"
    assert message["text"] == "hello"
    assert message["blocks"] == BLOCKS
    assert message["ts"] == response["ts"]
    assert message["body"]["channel"] == "C0PULSO"
    assert message["headers"]["authorization"] == f"Bearer {fake_slack.token}"
    assert message["headers"]["content-type"].startswith("application/json")

    [call] = fake_slack.calls
    assert call["method"] == "chat.postMessage"
    assert call["status"] == 200
    assert call["body"]["text"] == "hello"


def test_channel_name_resolves_to_id_and_thread_ts_is_kept(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    parent = client.chat_postMessage(channel="#alerts", text="parent")
    reply = client.chat_postMessage(channel="#alerts", text="reply", thread_ts=parent["ts"])

    assert parent["channel"] == reply["channel"] == fake_slack.channel_id("#alerts")
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert fake_slack.messages[1]["thread_ts"] == parent["ts"]


def test_ts_values_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C0PULSO", text=f"m{i}")["ts"] for i in range(5)]
    assert len(set(stamps)) == 5
    assert [float(ts) for ts in stamps] == sorted(float(ts) for ts in stamps)
    assert stamps == sorted(stamps)


def test_unknown_channel_and_missing_text(fake_slack: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as unknown:
        client.chat_postMessage(channel="C0NOPE", text="x")
    assert unknown.value.response["error"] == "channel_not_found"

    with pytest.raises(SlackApiError) as empty, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C0PULSO")
    assert empty.value.response["error"] == "no_text"
    assert fake_slack.messages == []


def test_chat_update_modifies_recorded_message(fake_slack: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0PULSO", text="draft")
    updated = client.chat_update(channel="C0PULSO", ts=posted["ts"], text="final", blocks=BLOCKS)

    assert updated["ts"] == posted["ts"]
    assert updated["text"] == "final"
    assert updated["message"]["blocks"] == BLOCKS

    [message] = fake_slack.messages
    assert message["text"] == "final"
    assert message["blocks"] == BLOCKS
    assert message["message"]["text"] == "final"
    assert [edit["text"] for edit in message["edits"]] == ["final"]


def test_chat_update_unknown_ts(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C0PULSO", ts="1.000001", text="x")
    assert excinfo.value.response["error"] == "message_not_found"


def test_wrong_token_is_invalid_auth(fake_slack: FakeSlack) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=fake_slack.base_url, timeout=1)
    with pytest.raises(SlackApiError) as excinfo:
        bad.chat_postMessage(channel="C0PULSO", text="x")
    assert excinfo.value.response.status_code == 200
    assert excinfo.value.response["error"] == "invalid_auth"
    assert fake_slack.messages == []


def test_missing_token_is_not_authed(fake_slack: FakeSlack) -> None:
    anonymous = WebClient(base_url=fake_slack.base_url, timeout=1)
    with pytest.raises(SlackApiError) as excinfo:
        anonymous.auth_test()
    assert excinfo.value.response["error"] == "not_authed"


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("pulso.nothing")
    assert excinfo.value.response.status_code == 404
    assert excinfo.value.response["error"] == "unknown_method"


def test_ratelimited(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.fail_next("chat.postMessage", "ratelimited", retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0PULSO", text="x")

    response = excinfo.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert int(response.headers["retry-after"]) == 7
    assert response["error"] == "ratelimited"
    assert fake_slack.messages == []
    assert fake_slack.calls[-1]["status"] == 429

    # consumed: the next call succeeds
    assert client.chat_postMessage(channel="C0PULSO", text="x")["ok"] is True
    assert len(fake_slack.messages) == 1


def test_default_client_does_not_retry_429_or_500(fake_slack: FakeSlack) -> None:
    default = WebClient(token=fake_slack.token, base_url=fake_slack.base_url, timeout=1)
    fake_slack.fail_next("chat.postMessage", "ratelimited")
    fake_slack.fail_next("chat.postMessage", "server_error")
    for status in (429, 500):
        with pytest.raises(SlackApiError) as excinfo:
            default.chat_postMessage(channel="C0PULSO", text="x")
        assert excinfo.value.response.status_code == status
    assert [call["status"] for call in fake_slack.calls] == [429, 500]


def test_rate_limit_retry_handler_recovers(fake_slack: FakeSlack) -> None:
    retrying = WebClient(
        token=fake_slack.token,
        base_url=fake_slack.base_url,
        timeout=1,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake_slack.fail_next("chat.postMessage", "ratelimited", retry_after=0)
    assert retrying.chat_postMessage(channel="C0PULSO", text="x")["ok"] is True
    assert [call["status"] for call in fake_slack.calls] == [429, 200]
    assert len(fake_slack.messages) == 1


def test_server_error(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.fail_next("chat.postMessage", "server_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="C0PULSO", text="x")
        assert excinfo.value.response.status_code == 500
        assert excinfo.value.response.headers["Content-Type"].startswith("text/html")
        # slack-sdk turns a non-JSON body into a synthetic error string
        assert "non-JSON" in excinfo.value.response["error"]
    assert fake_slack.messages == []

    assert client.chat_postMessage(channel="C0PULSO", text="x")["ok"] is True
    assert fake_slack.pending_failures("chat.postMessage") == []


def test_scripted_invalid_auth_and_channel_not_found(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    fake_slack.fail_next("chat.postMessage", "invalid_auth")
    fake_slack.fail_next("chat.postMessage", "channel_not_found")
    for error in ("invalid_auth", "channel_not_found"):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="C0PULSO", text="x")
        assert excinfo.value.response.status_code == 200
        assert excinfo.value.response["error"] == error
    assert fake_slack.messages == []
    assert client.chat_postMessage(channel="C0PULSO", text="x")["ok"] is True


def test_failures_are_per_method(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.fail_next("chat.update", "server_error")
    posted = client.chat_postMessage(channel="C0PULSO", text="x")
    with pytest.raises(SlackApiError):
        client.chat_update(channel="C0PULSO", ts=posted["ts"], text="y")
    assert fake_slack.messages[0]["text"] == "x"


def test_timeout(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.timeout_sleep = 3.0
    fake_slack.fail_next("chat.postMessage", "timeout")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C0PULSO", text="slow")
    assert time.monotonic() - started < 2.5
    # the server processed the post; only the answer was late (like a real timeout)
    assert [call["injected"] for call in fake_slack.calls] == ["timeout"]

    assert client.chat_postMessage(channel="C0PULSO", text="fast")["ok"] is True


def test_default_client_does_not_retry_timeout(fake_slack: FakeSlack) -> None:
    default = WebClient(token=fake_slack.token, base_url=fake_slack.base_url, timeout=1)
    fake_slack.fail_next("auth.test", "timeout")
    with pytest.raises(TimeoutError):
        default.auth_test()
    assert len(fake_slack.calls) == 1


def test_stop_does_not_wait_for_sleeping_handler() -> None:
    fake = FakeSlack().start()
    fake.timeout_sleep = 30.0
    fake.fail_next("auth.test", "timeout")
    client = WebClient(token=fake.token, base_url=fake.base_url, timeout=1, retry_handlers=[])
    with pytest.raises(TimeoutError):
        client.auth_test()
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.0


def test_fail_next_rejects_unknown_kind(fake_slack: FakeSlack) -> None:
    with pytest.raises(ValueError):
        fake_slack.fail_next("chat.postMessage", "explode")


def test_form_encoded_body_is_parsed(fake_slack: FakeSlack, client: WebClient) -> None:
    response = client.api_call(
        "chat.postMessage", params={"channel": "C0PULSO", "text": "form", "blocks": "[]"}
    )
    assert response["ok"] is True
    [call] = fake_slack.calls
    assert call["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert call["body"]["text"] == "form"
    assert call["body"]["blocks"] == []


META = {"event_type": "pulso_alert", "event_payload": {"key": "alert:1:0:slack"}}


def test_history_is_newest_first_and_shows_metadata_only_when_asked(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C0PULSO", text="first", metadata=META)
    client.chat_postMessage(channel="C0PULSO", text="reply", thread_ts=first["ts"])
    client.chat_postMessage(channel="#alerts", text="elsewhere")
    second = client.chat_postMessage(channel="C0PULSO", text="second")

    plain = client.conversations_history(channel="C0PULSO")
    assert [m["ts"] for m in plain["messages"]] == [second["ts"], first["ts"]]  # no replies
    assert plain["has_more"] is False
    assert "metadata" not in plain["messages"][1]
    assert plain["messages"][1]["reply_count"] == 1
    full = client.conversations_history(channel="C0PULSO", include_all_metadata=True)
    assert full["messages"][1]["metadata"] == META
    assert full["messages"][1]["type"] == "message"
    assert fake_slack.messages[0]["metadata"] == META


def test_history_ranges_and_cursor_pages(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C0PULSO", text=f"m{i}")["ts"] for i in range(5)]
    newer = client.conversations_history(channel="C0PULSO", oldest=stamps[2])
    assert [m["ts"] for m in newer["messages"]] == stamps[:2:-1]
    one = client.conversations_history(
        channel="C0PULSO", oldest=stamps[1], latest=stamps[1], inclusive=True, limit=1
    )
    assert [m["ts"] for m in one["messages"]] == [stamps[1]]

    page = client.conversations_history(channel="C0PULSO", limit=2)
    seen = [m["ts"] for m in page["messages"]]
    while page["has_more"]:
        cursor = page["response_metadata"]["next_cursor"]
        page = client.conversations_history(channel="C0PULSO", limit=2, cursor=cursor)
        seen += [m["ts"] for m in page["messages"]]
    assert seen == stamps[::-1]
    assert page["response_metadata"]["next_cursor"] == ""


def test_replies_return_the_thread_in_order_with_metadata(client: WebClient) -> None:
    root = client.chat_postMessage(channel="C0PULSO", text="root")
    replies = [
        client.chat_postMessage(
            channel="C0PULSO", text=f"r{i}", thread_ts=root["ts"], metadata=META
        )
        for i in range(2)
    ]
    client.chat_postMessage(channel="C0PULSO", text="other")
    thread = client.conversations_replies(
        channel="C0PULSO", ts=root["ts"], include_all_metadata=True
    )
    assert [m["text"] for m in thread["messages"]] == ["root", "r0", "r1"]
    assert thread["messages"][1]["thread_ts"] == root["ts"]
    assert thread["messages"][2]["metadata"] == META
    later = client.conversations_replies(channel="C0PULSO", ts=root["ts"], oldest=replies[0]["ts"])
    assert [m["text"] for m in later["messages"]] == ["r1"]
    with pytest.raises(SlackApiError) as missing:
        client.conversations_replies(channel="C0PULSO", ts="1.000001")
    assert missing.value.response["error"] == "thread_not_found"


def test_reading_needs_a_channel_id_and_list_maps_names(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    with pytest.raises(SlackApiError) as by_name:
        client.conversations_history(channel="#alerts")
    assert by_name.value.response["error"] == "channel_not_found"
    listed = client.conversations_list(types="public_channel,private_channel")
    names = {c["name"]: c["id"] for c in listed["channels"]}
    assert names["alerts"] == fake_slack.channel_id("#alerts")
    assert names["c0pulso"] == "C0PULSO"


def test_update_keeps_metadata_and_ts_follow_the_clock(fake_slack: FakeSlack) -> None:
    fake_slack.clock = lambda: 1_800_000_000.5
    client = WebClient(token=fake_slack.token, base_url=fake_slack.base_url, timeout=1)
    posted = client.chat_postMessage(channel="C0PULSO", text="x", metadata=META)
    again = client.chat_postMessage(channel="C0PULSO", text="y")
    assert (posted["ts"], again["ts"]) == ("1800000000.500000", "1800000000.500100")
    client.chat_update(channel="C0PULSO", ts=posted["ts"], text="z")
    found = client.conversations_history(channel="C0PULSO", include_all_metadata=True)
    assert found["messages"][1]["metadata"] == META
    assert found["messages"][1]["text"] == "z" and "edited" in found["messages"][1]
    fake_slack.delete_message(posted["ts"])
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel="C0PULSO", ts=posted["ts"], text="w")
    assert gone.value.response["error"] == "message_not_found"
