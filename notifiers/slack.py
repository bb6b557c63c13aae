"""Slack notifier: one message per incident, updates in its thread (slack-sdk WebClient)."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from monitor.events import AlertEvent
from monitor.secrets import environment, read_secret, require_secret
from notifiers.base import Notifier, NotifierSettings, PermanentError, RetryableError
from notifiers.slack_format import alert_blocks, fallback_text, update_blocks

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
    }
)


class SlackSettings(NotifierSettings):
    """Slack settings. The bot token comes only from `PULSO_SLACK_BOT_TOKEN` (or `_FILE`).

    ```yaml
    notifiers:
      slack:
        channel: "#cx-alerts"   # or set PULSO_SLACK_CHANNEL; invite the bot there
    ```
    """

    channel: str = Field(default="", validate_default=True)
    token: SecretStr = Field(default=None, validate_default=True)
    api_url: str = Field(default="", validate_default=True)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("channel", mode="before")
    @classmethod
    def _channel(cls, value: object, info: ValidationInfo) -> object:
        channel = read_secret(CHANNEL_VAR, environment(info.context)) or value
        if not channel:
            raise ValueError(f"missing: set notifiers.slack.channel or {CHANNEL_VAR}")
        return channel

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, value: object, info: ValidationInfo) -> str:
        return require_secret(TOKEN_VAR, value, environment(info.context))

    @field_validator("api_url", mode="before")
    @classmethod
    def _api_url(cls, value: object, info: ValidationInfo) -> object:
        url = (
            read_secret(API_URL_VAR, environment(info.context)) or value or "https://slack.com/api/"
        )
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return url if url.endswith("/") else url + "/"


class SlackNotifier(Notifier):
    """Posts the incident's root message, then threads escalations and the resolution."""

    name: ClassVar[str] = "slack"
    Settings: ClassVar[type[NotifierSettings]] = SlackSettings

    def __init__(self, settings: NotifierSettings) -> None:
        super().__init__(settings)
        assert isinstance(settings, SlackSettings)
        self.slack = settings
        self._client: Any = None

    def client(self) -> Any:
        """The WebClient, built once; the outbox owns retries, so the SDK's are off."""
        if self._client is None:
            from slack_sdk import WebClient

            self._client = WebClient(
                token=self.slack.token.get_secret_value(),
                base_url=self.slack.api_url,
                timeout=int(self.slack.timeout_seconds),
                retry_handlers=[],
            )
        return self._client

    def send(self, event: AlertEvent, thread_ref: str | None) -> str | None:
        """Post the event; return `channel:ts` of the incident's root message."""
        args: dict[str, Any] = {
            "channel": self.slack.channel,
            "text": fallback_text(event),
            "unfurl_links": False,
            "unfurl_media": False,
            "link_names": False,
        }
        if event.kind == "opened" or not thread_ref:
            args["blocks"] = alert_blocks(event)
        else:
            channel, _, ts = thread_ref.partition(":")
            args.update(channel=channel, thread_ts=ts, blocks=update_blocks(event))
        response = self._call(args)
        if thread_ref and event.kind != "opened":
            return thread_ref
        return f"{response['channel']}:{response['ts']}"

    def _call(self, args: dict[str, Any]) -> Any:
        from slack_sdk.errors import SlackApiError

        try:
            response = self.client().chat_postMessage(**args)
        except SlackApiError as exc:
            raise classify(exc) from exc
        except OSError as exc:  # URLError, timeouts, refused connections
            raise RetryableError(f"Slack unreachable: {exc}") from exc
        logger.info("posted to Slack channel %s", response.get("channel"))
        return response


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
    if status >= 500:
        return RetryableError(f"Slack server error {status}")
    if error in PERMANENT:
        return PermanentError(f"Slack refused the message: {error}", code=error)
    return RetryableError(f"Slack error: {error}")
