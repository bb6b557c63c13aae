"""Slack notifier: one message per incident, updates in its thread (slack-sdk WebClient)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.kernel.events import AlertEvent, Severity
from monitor.kernel.secrets import api_url_field, from_environment, secret_field
from notifiers.base import Notifier, NotifierSettings, PermanentError, RetryableError
from notifiers.slack_check import granted, missing_scopes, token_refused
from notifiers.slack_format import (
    fallback_text,
    metadata,
    metadata_key,
    reply_blocks,
    root_blocks,
    with_status,
)

logger = logging.getLogger(__name__)

TOKEN_VAR = "PULSO_SLACK_BOT_TOKEN"
CHANNEL_VAR = "PULSO_SLACK_CHANNEL"
API_URL_VAR = "PULSO_SLACK_API_URL"

# Errors a retry will not fix until someone changes the token, the channel or the app.
PERMANENT = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "team_access_not_granted",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
    }
)
# A first message that is gone or frozen cannot show the new status; its thread still does.
UNUPDATABLE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
# How far before the queueing time an interrupted post is looked for (clock skew).
LOOKUP_MARGIN = timedelta(minutes=10)
LOOKUP_PAGES = 10
PAGE_SIZE = 200
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
MISSING_SCOPE = ("missing_scope",)


def _valid_channel(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a channel name such as #cx-alerts or an id such as C0123ABCD")
    channel = value.strip()
    if re.search(r"\s", channel):
        raise ValueError(f"{channel!r} is not a channel: names and ids have no spaces")
    return channel


class SlackRoute(BaseModel):
    """Alerts of one brand, one severity, or both, go to `channel`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    brand: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    severity: Severity | None = None
    channel: str

    _channel = field_validator("channel", mode="before")(_valid_channel)

    @model_validator(mode="after")
    def _narrows(self) -> SlackRoute:
        if self.brand is None and self.severity is None:
            raise ValueError("a route needs `brand`, `severity` or both")
        return self

    def rank(self, brand: str, severity: str) -> int | None:
        """How specific this route is for (brand, severity), or None if it does not match."""
        if self.brand not in (None, brand) or self.severity not in (None, severity):
            return None
        return 2 * (self.brand is not None) + (self.severity is not None)


class SlackSettings(NotifierSettings):
    """Slack settings. The bot token comes only from `PULSO_SLACK_BOT_TOKEN` (or `_FILE`).

    ```yaml
    notifiers:
      slack:
        channel: "#cx-alerts"   # or set PULSO_SLACK_CHANNEL; invite the bot there
        routes:                 # optional; the most specific match wins:
          - {brand: paquetto, severity: critical, channel: "#paquetto-war-room"}
          - {brand: nubento, channel: "#nubento"}       # brand+severity > brand
          - {severity: critical, channel: "#cx-oncall"} # > severity > channel
    ```
    """

    channel: str = Field(default="", validate_default=True)
    routes: tuple[SlackRoute, ...] = ()
    token: SecretStr = Field(default=None, validate_default=True)
    api_url: str = Field(default="", validate_default=True)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("channel", mode="before")
    @classmethod
    def _channel(cls, value: object, info: ValidationInfo) -> str:
        channel = from_environment(CHANNEL_VAR, value, info)
        if not channel:
            raise ValueError(f"missing: set notifiers.slack.channel or {CHANNEL_VAR}")
        return _valid_channel(channel)

    @field_validator("routes")
    @classmethod
    def _distinct(cls, routes: tuple[SlackRoute, ...]) -> tuple[SlackRoute, ...]:
        seen: dict[tuple[str | None, str | None], int] = {}
        for index, route in enumerate(routes):
            first = seen.setdefault((route.brand, route.severity), index)
            if first != index:
                raise ValueError(
                    f"routes[{index}] has the same brand and severity as routes[{first}]"
                )
        return routes

    _token = secret_field("token", var=TOKEN_VAR)
    # slack-sdk joins method names to the base URL, so it keeps its trailing slash.
    _api_url = api_url_field(
        "api_url", var=API_URL_VAR, default="https://slack.com/api/", trailing_slash=True
    )

    def channel_for(self, brand: str, severity: str) -> str:
        """The channel for an incident: brand+severity > brand > severity > `channel`."""
        ranked = [(r.rank(brand, severity), r.channel) for r in self.routes]
        matches = [(rank, channel) for rank, channel in ranked if rank is not None]
        return max(matches, key=lambda match: match[0])[1] if matches else self.channel


class SlackNotifier(Notifier[SlackSettings]):
    """Posts the incident's message, threads its updates and keeps its status line current."""

    name: ClassVar[str] = "slack"
    Settings: ClassVar[type[NotifierSettings]] = SlackSettings

    def __init__(self, settings: SlackSettings) -> None:
        super().__init__(settings)
        self._client: Any = None
        self._channel_ids: dict[str, str] = {}

    def client(self) -> Any:
        """The WebClient, built once; the outbox owns retries, so the SDK's are off."""
        if self._client is None:
            from slack_sdk import WebClient

            self._client = WebClient(
                token=self.settings.token.get_secret_value(),
                base_url=self.settings.api_url,
                timeout=int(self.settings.timeout_seconds),
                retry_handlers=[],
            )
        return self._client

    def check(self) -> list[PermanentError]:
        """`auth.test`: is the token accepted, and has it the scopes Pulso calls need?"""
        try:
            response = self._call("auth_test")
        except PermanentError as exc:
            return [token_refused(TOKEN_VAR, exc.code)]
        channels = [self.settings.channel, *(route.channel for route in self.settings.routes)]
        return missing_scopes(TOKEN_VAR, granted(response.headers or {}), channels)

    def send(self, event: AlertEvent, thread_ref: str | None, key: str | None = None) -> str:
        """Post the event (a reply under `thread_ref` unless it opens one); return `channel:ts`."""
        args: dict[str, Any] = {
            "text": fallback_text(event),
            "unfurl_links": False,
            "unfurl_media": False,
            "link_names": False,
        }
        if key:
            args["metadata"] = metadata(key, event)
        if _threaded(event, thread_ref):
            channel, ts = _split(thread_ref)
            args.update(channel=channel, thread_ts=ts, blocks=reply_blocks(event))
        else:
            channel = self.settings.channel_for(event.brand, event.severity)
            blocks = root_blocks(event)
            if event.kind in ("updated", "resolved"):  # no first message to reply to
                blocks = [blocks[0], *reply_blocks(event)]
            args.update(channel=channel, blocks=blocks)
        logger.debug("Slack message for alert #%d: %s", event.alert_id, args)
        response = self._call("chat_postMessage", **args)
        if "thread_ts" not in args:
            self._channel_ids[channel] = response["channel"]
        logger.info("posted to Slack channel %s: alert #%d %s", channel, event.alert_id, event.kind)
        return f"{response['channel']}:{response['ts']}"

    def find_delivered(
        self, event: AlertEvent, key: str, thread_ref: str | None, since: datetime
    ) -> str | None:
        """Look for a message tagged with `key` in the thread or channel `send` posts to."""
        oldest = f"{(since - LOOKUP_MARGIN).timestamp():.6f}"
        try:
            if _threaded(event, thread_ref):
                channel, ts = _split(thread_ref)
                found = self._paginate(
                    "conversations_replies",
                    "messages",
                    tolerate=frozenset({"thread_not_found"}),  # the first message is gone
                    channel=channel,
                    ts=ts,
                    oldest=oldest,
                    include_all_metadata=True,
                )
            else:
                channel = self._channel_id(self.settings.channel_for(event.brand, event.severity))
                found = self._paginate(
                    "conversations_history",
                    "messages",
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                )
            return next((f"{channel}:{m['ts']}" for m in found if metadata_key(m) == key), None)
        except PermanentError as exc:
            raise PermanentError(
                f"cannot check whether an interrupted try already posted {key}, so it is held "
                f"back rather than risk a duplicate (the bot needs channels:history, and "
                f"channels:read for a #name; groups:* for private channels): {exc}",
                code=exc.code,
            ) from exc

    def follow_up(self, event: AlertEvent, thread_ref: str | None) -> None:
        """After an escalation or a resolution, bring the incident's first message up to date."""
        if event.kind not in ("escalated", "resolved") or not thread_ref:
            return
        channel, ts = _split(thread_ref)
        if event.kind == "escalated":
            blocks = root_blocks(event)
        else:
            try:  # its blocks as they are, to change only the status line
                found = self._call(
                    "conversations_history", channel=channel, latest=ts, oldest=ts, inclusive=True
                )
            except PermanentError as exc:
                raise PermanentError(
                    f"cannot mark alert #{event.alert_id} resolved in its first message (the "
                    f"bot needs channels:history, groups:history for private channels): {exc}",
                    code=exc.code,
                ) from exc
            current = [m for m in found["messages"] if m.get("ts") == ts]
            if not current or not current[0].get("blocks"):
                logger.warning("alert #%d: its Slack message %s is gone", event.alert_id, ts)
                return
            blocks = with_status(current[0]["blocks"], event)
        args = {"channel": channel, "ts": ts, "text": fallback_text(event), "blocks": blocks}
        if self._call("chat_update", tolerate=UNUPDATABLE, **args) is None:
            logger.warning(
                "alert #%d: its Slack message %s cannot be updated; the thread has the news",
                event.alert_id,
                ts,
            )

    def _channel_id(self, channel: str) -> str:
        """A channel's id: reading history needs it where posting accepts a `#name`."""
        if _CHANNEL_ID.match(channel):
            return channel
        if channel not in self._channel_ids:
            name = channel.removeprefix("#")
            # Public first: a bot without groups:read may not list private channels.
            for types, tolerate in (("public_channel", ()), ("private_channel", MISSING_SCOPE)):
                listed = self._paginate(
                    "conversations_list",
                    "channels",
                    pages=50,
                    tolerate=frozenset(tolerate),
                    types=types,
                    exclude_archived=True,
                )
                found = next((c["id"] for c in listed if c.get("name") == name), None)
                if found is not None:
                    self._channel_ids[channel] = found
                    break
            else:
                raise PermanentError(
                    f"no Slack channel named {channel}; set its id (C0…) instead",
                    code="channel_not_found",
                )
        return self._channel_ids[channel]

    def _paginate(
        self,
        method: str,
        key: str,
        pages: int = LOOKUP_PAGES,
        tolerate: frozenset[str] = frozenset(),
        **args: Any,
    ) -> Iterator[dict[str, Any]]:
        """Items of a cursor-paginated read (history: newest first); `tolerate`d → none."""
        args.update(limit=PAGE_SIZE)
        for _ in range(pages):
            response = self._call(method, tolerate=tolerate, **args)
            if response is None:
                return
            yield from response.get(key) or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return
            args.update(cursor=cursor)
        logger.warning("Slack %s: stopped after %d pages", method, pages)

    def _call(self, method: str, tolerate: frozenset[str] = frozenset(), **args: Any) -> Any:
        """One Web API call; Slack errors become Retryable/PermanentError, `tolerate`d → None."""
        from slack_sdk.errors import SlackApiError

        try:
            return getattr(self.client(), method)(**args)
        except SlackApiError as exc:
            if exc.response.get("error") in tolerate:
                return None
            raise classify(exc) from exc
        except OSError as exc:  # URLError, timeouts, refused connections
            raise RetryableError(f"Slack unreachable: {exc}", maybe_delivered=True) from exc


def _threaded(event: AlertEvent, thread_ref: str | None) -> bool:
    return event.kind != "opened" and bool(thread_ref)


def _split(ref: str | None) -> tuple[str, str]:
    channel, _, ts = (ref or "").partition(":")
    return channel, ts


def classify(exc: Any) -> RetryableError | PermanentError:
    """Map a SlackApiError to retry-later or needs-a-person."""
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    error = str(response.get("error", "") if hasattr(response, "get") else "") or f"http_{status}"
    if status == 429:
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        retry_after = headers.get("retry-after")
        wait = float(retry_after) if retry_after and str(retry_after).isdigit() else None
        return RetryableError(f"Slack rate limit (retry after {wait}s)", retry_after=wait)
    if status >= 500:  # Slack may have acted before failing
        return RetryableError(f"Slack server error {status}", maybe_delivered=True)
    if error in PERMANENT:
        return PermanentError(f"Slack refused the request: {error}", code=error)
    return RetryableError(f"Slack error: {error}")
