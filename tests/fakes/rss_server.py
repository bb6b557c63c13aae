"""A fake web server for RSS/Atom feeds on 127.0.0.1, with ETag and Last-Modified.

Usage::

    with FakeFeeds() as fake:
        fake.publish("/alerts.xml", rss_feed([...]), etag='"v1"')
        settings = RssSettings(feeds=(fake.url("/alerts.xml"),))

A GET whose ``If-None-Match`` matches the feed's ETag, or whose ``If-Modified-Since``
equals its Last-Modified, gets 304. Unknown paths get 404. `fail_next` as in `hn_api`.
"""

from __future__ import annotations

from html import escape

from tests.fakes.hn_api import LocalServer, Reply

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"


class FakeFeeds(LocalServer):
    """Serves published feed documents by path."""

    def __init__(self) -> None:
        super().__init__()
        self.feeds: dict[str, tuple[bytes, str, str | None, str | None]] = {}

    def __enter__(self) -> FakeFeeds:
        self.start()
        return self

    def url(self, path: str) -> str:
        """The feed URL of `path`."""
        return self.origin + path

    def publish(
        self,
        path: str,
        body: str | bytes,
        content_type: str = RSS_TYPE,
        etag: str | None = None,
        modified: str | None = None,
    ) -> None:
        """Serve `body` at `path` from now on."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self.lock:
            self.feeds[path] = (data, content_type, etag, modified)

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        """The feed, or 304 when the client's validators still match."""
        with self.lock:
            found = self.feeds.get(path)
        if found is None:
            return Reply(404, b"<html><body>Not Found</body></html>")
        body, content_type, etag, modified = found
        validators: dict[str, str] = {}
        if etag:
            validators["ETag"] = etag
        if modified:
            validators["Last-Modified"] = modified
        if (etag and headers.get("if-none-match") == etag) or (
            modified and headers.get("if-modified-since") == modified
        ):
            return Reply(304, b"", validators)
        return Reply(200, body, {"Content-Type": content_type, **validators})


def rss_item(guid: str | None, title: str, pub_date: str | None, **fields: str) -> str:
    """One RSS 2.0 <item> (fields: link, description, author, ...; values are escaped)."""
    parts = [f"<title>{escape(title)}</title>"]
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{escape(guid)}</guid>')
    if pub_date is not None:
        parts.append(f"<pubDate>{pub_date}</pubDate>")
    parts += [f"<{name}>{escape(value)}</{name}>" for name, value in fields.items()]
    return "<item>" + "".join(parts) + "</item>"


def rss_feed(items: list[str], language: str | None = "en-us") -> str:
    """An RSS 2.0 document around `items`."""
    lang = f"<language>{language}</language>" if language else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Reviews</title><link>https://reviews.example/</link>"
        f"<description>Latest</description>{lang}{''.join(items)}</channel></rss>"
    )
