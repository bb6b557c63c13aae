"""Author pseudonymisation: a keyed hash stands in for the handle before anything is stored.

```yaml
privacy:
  pseudonymise_authors: true
  key_env: PULSO_AUTHOR_KEY   # the key (16+ characters) is read from this variable
```

The same handle on the same platform always gets the same pseudonym under one key, so
counts per author (digest segments) still work; without the key it cannot be reversed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

from monitor.kernel.records import Mention
from monitor.kernel.secrets import read_secret
from monitor.settings import AUTHOR_KEY_MIN_CHARS, PrivacySettings

PREFIX = "anon:"
HEX_CHARS = 16
# x.com/HANDLE/status/ID (and twitter.com, mobile., www.): the handle is the path's first part.
_X_STATUS = re.compile(
    r"^https?://(?:www\.|mobile\.)?(?:x|twitter)\.com/[^/?#]+/status(?:es)?/(\d+)",
    re.IGNORECASE,
)
_PSEUDONYM = re.compile(rf"^{PREFIX}[0-9a-f]{{{HEX_CHARS}}}$")


def normalise_handle(handle: str) -> str:
    """The comparable form of a handle: trimmed, without a leading @, case-folded."""
    return handle.strip().removeprefix("@").casefold()


def pseudonym(key: bytes, source: str, handle: str) -> str:
    """`anon:` and 16 hex digits of HMAC-SHA256(key, source + case-folded handle)."""
    message = f"{source}\n{normalise_handle(handle)}".encode()
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_CHARS]


def is_pseudonym(value: str) -> bool:
    """Whether `value` already is a pseudonym (applying twice changes nothing)."""
    return bool(_PSEUDONYM.match(value))


def handle_forms(handle: str) -> set[str]:
    """The path segments that name `handle` in a post URL (`alice`, `@alice`, Mastodon's
    `@alice@example.social` and its local part), case-folded."""
    bare = normalise_handle(handle)
    local = bare.split("@", 1)[0]
    return {form for form in (bare, local, "@" + bare, "@" + local) if form}


def without_handle(url: str, handle: str | None, replacement: str) -> str:
    """`url` with the author's handle taken out.

    An X/Twitter status URL becomes `https://x.com/i/web/status/ID` (it still opens);
    elsewhere (Mastodon `/@alice/1`, Bluesky `/profile/alice.bsky.social/post/1`) a path
    segment naming the handle becomes `replacement`; a URL without it is kept.
    """
    found = _X_STATUS.match(url)
    if found:
        return f"https://x.com/i/web/status/{found.group(1)}"
    if not handle:
        return url
    forms = handle_forms(handle)
    parts = urlsplit(url)
    segments = parts.path.split("/")
    changed = [
        ("@" if s.startswith("@") else "") + replacement if s.casefold() in forms else s
        for s in segments
    ]
    if changed == segments:
        return url
    return urlunsplit(parts._replace(path="/".join(changed)))


@dataclass(frozen=True)
class Pseudonymiser:
    """Replaces authors by pseudonyms in collected mentions; a no-op without a key."""

    key: bytes | None = None

    @classmethod
    def from_settings(
        cls, settings: PrivacySettings, environ: Mapping[str, str] | None = None
    ) -> Pseudonymiser:
        """The pseudonymiser the settings ask for (the key comes from `key_env`)."""
        if not settings.pseudonymise_authors:
            return cls()
        secret = read_secret(settings.key_env, environ)
        if not secret or len(secret) < AUTHOR_KEY_MIN_CHARS:
            raise ValueError(
                f"privacy.pseudonymise_authors: set {settings.key_env} to a key of at least "
                f"{AUTHOR_KEY_MIN_CHARS} characters"
            )
        return cls(secret.encode())

    @property
    def enabled(self) -> bool:
        """Whether authors are pseudonymised."""
        return self.key is not None

    def __repr__(self) -> str:
        return f"Pseudonymiser(enabled={self.enabled})"  # never the key

    def pseudonym(self, source: str, handle: str) -> str:
        """The pseudonym of `handle` on `source` (needs a key)."""
        if self.key is None:
            raise ValueError("pseudonymisation is off")
        return pseudonym(self.key, source, handle)

    def apply(self, mentions: Sequence[Mention]) -> list[Mention]:
        """The mentions with pseudonymous authors, no author names, and no handle in URLs."""
        if self.key is None:
            return list(mentions)
        return [self._one(m) for m in mentions]

    def _one(self, mention: Mention) -> Mention:
        handle = mention.author_handle
        if handle and is_pseudonym(handle):
            return replace(mention, author_name=None)
        alias = self.pseudonym(mention.source, handle) if handle else None
        replacement = alias or PREFIX
        url = without_handle(mention.url, handle, replacement) if mention.url else None
        external_id = mention.external_id
        if handle and external_id.startswith(("http://", "https://")):
            # Mastodon's ids are ActivityPub URIs: https://host/users/alice/statuses/1.
            external_id = without_handle(external_id, handle, replacement)
        return replace(
            mention, author_handle=alias, author_name=None, url=url, external_id=external_id
        )
