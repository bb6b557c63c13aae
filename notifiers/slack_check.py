"""What Slack's `auth.test` tells about the bot token: accepted or not, and its scopes.

Slack names a token's scopes in the `x-oauth-scopes` header of every answer; the ones
Pulso needs follow from what `notifiers.slack` calls: `chat.postMessage` and
`chat.update` (chat:write), `conversations.history` and `.replies` to mark an incident
resolved and to look for a post an interrupted try may have made (channels:history, or
groups:history in a private channel), `conversations.list` to find a channel written as
a `#name` (channels:read or groups:read).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from notifiers.base import PermanentError

SCOPES_HEADER = "x-oauth-scopes"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def token_refused(var: str, code: str | int | None) -> PermanentError:
    """The one line for a token Slack does not accept (`code`: Slack's error)."""
    return PermanentError(
        f"Slack rejects the bot token in {var} ({code}): set it to the app's Bot User OAuth "
        f"Token (xoxb-…) and restart Pulso; alerts stay queued until then",
        code=code,
    )


def granted(headers: Mapping[str, object]) -> frozenset[str] | None:
    """The token's scopes from an answer's headers; None if Slack did not say."""
    found = {name.lower(): value for name, value in headers.items()}.get(SCOPES_HEADER)
    if found is None:
        return None
    return frozenset(scope.strip() for scope in str(found).split(",") if scope.strip())


def missing_scopes(
    var: str, scopes: frozenset[str] | None, channels: Iterable[str]
) -> list[PermanentError]:
    """One problem per scope Pulso needs and the token lacks (none if Slack did not say).

    `channels`: every channel the settings name; one written as a `#name` needs a scope
    to be looked up.
    """
    if scopes is None:
        return []
    needed = [
        (("chat:write",), "to post alerts"),
        (
            ("channels:history", "groups:history"),
            "to mark incidents resolved and to check "
            "for a post an interrupted try made rather than post it twice",
        ),
    ]
    if any(not _CHANNEL_ID.match(channel) for channel in channels):
        needed.append((("channels:read", "groups:read"), "to find a channel by its #name"))
    return [_missing(var, names, why) for names, why in needed if not scopes.intersection(names)]


def _missing(var: str, names: tuple[str, ...], why: str) -> PermanentError:
    private = f" ({names[1]} for a private channel)" if len(names) > 1 else ""
    return PermanentError(
        f"the Slack app of {var} lacks the {names[0]} scope{private}, needed {why}: add it "
        f"under OAuth & Permissions and reinstall the app",
        code="missing_scope",
    )
