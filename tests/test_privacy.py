"""Author pseudonymisation and `pulso forget-author` (erasure), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.cli.main import main
from monitor.kernel.records import Mention
from monitor.privacy import Pseudonymiser, pseudonym, without_handle
from monitor.runtime import Runtime, build_runtime
from monitor.service.daemon import run_once
from monitor.settings import ConfigError, load_settings
from monitor.storage.forget import Author, scrub_examples
from monitor.storage.schema import (
    AlertRow,
    Base,
    MentionBrandRow,
    MentionRow,
    MentionThemeRow,
    MentionTouchpointRow,
    OutboxRow,
)
from tests.helpers import (
    END,
    mention,
    quarantine_row,
    series,
    throwaway_postgres,
    write_config,
    write_jsonl,
)

KEY = "k3y-for-tests-only-0123456789"
PRIVACY = {"pseudonymise_authors": True}
ALICE = "Alice_CX"
MARKER = "zqmark"  # in Alice's posts only; one word per post, never a theme


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL of each kind (PostgreSQL: a throwaway database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pulso.db'}"
        return
    with throwaway_postgres() as url:
        yield url


# --- pseudonyms ------------------------------------------------------------------------


def test_pseudonym_is_stable_keyed_per_source_and_case_blind() -> None:
    key = KEY.encode()
    alias = pseudonym(key, "x", "@Alice")
    expected = hmac.new(key, b"x\nalice", hashlib.sha256).hexdigest()[:16]
    assert alias == f"anon:{expected}"
    assert re.fullmatch(r"anon:[0-9a-f]{16}", alias)
    assert pseudonym(key, "x", "alice") == pseudonym(key, "x", "ALICE") == alias
    assert pseudonym(b"another-key-0123456789", "x", "alice") != alias
    assert pseudonym(key, "mastodon", "alice") != alias
    assert pseudonym(key, "x", "alicia") != alias


@pytest.mark.parametrize(
    ("url", "handle", "expected"),
    [
        ("https://x.com/Alice/status/123", "alice", "https://x.com/i/web/status/123"),
        ("https://twitter.com/alice/status/9?s=20", "alice", "https://x.com/i/web/status/9"),
        ("https://x.com/i/web/status/123", None, "https://x.com/i/web/status/123"),
        (
            "https://mastodon.example/@alice/1099",
            "alice",
            "https://mastodon.example/@anon:1/1099",
        ),
        (
            "https://other.example/@alice/77",
            "alice@other.example",
            "https://other.example/@anon:1/77",
        ),
        (
            "https://bsky.app/profile/alice.bsky.social/post/3kx",
            "alice.bsky.social",
            "https://bsky.app/profile/anon:1/post/3kx",
        ),
        (
            "https://bsky.app/profile/did:plc:abc/post/3kx",
            "alice.bsky.social",
            "https://bsky.app/profile/did:plc:abc/post/3kx",
        ),
        (
            "https://www.reddit.com/r/acme/comments/a1/lost/",
            "alice",
            "https://www.reddit.com/r/acme/comments/a1/lost/",
        ),
    ],
)
def test_urls_lose_the_handle(url: str, handle: str | None, expected: str) -> None:
    assert without_handle(url, handle, "anon:1") == expected


def test_pseudonymiser_replaces_the_author_and_is_a_no_op_when_off() -> None:
    post = Mention(
        source="x",
        external_id="123",
        text="ACME lost my parcel",
        created_at=END,
        url="https://x.com/Alice/status/123",
        author_handle="Alice",
        author_name="Alice Liddell",
        author_followers=10,
    )
    off = Pseudonymiser()
    assert off.apply([post]) == [post]
    (out,) = Pseudonymiser(KEY.encode()).apply([post])
    assert out.author_handle == pseudonym(KEY.encode(), "x", "alice")
    assert out.author_name is None
    assert out.url == "https://x.com/i/web/status/123"
    assert (out.text, out.external_id, out.author_followers) == (post.text, "123", 10)
    assert Pseudonymiser(KEY.encode()).apply([out]) == [out]  # twice is once
    assert KEY not in repr(Pseudonymiser(KEY.encode()))


# --- configuration ---------------------------------------------------------------------


def _config(tmp_path: Path, **extra: Any) -> Path:
    replay = write_jsonl(tmp_path / "acme.jsonl", series(days=1))
    return write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db", **extra)


def test_a_missing_or_short_key_is_a_config_error_naming_the_variable(tmp_path: Path) -> None:
    path = _config(tmp_path, privacy=PRIVACY)
    for environ, problem in (({}, "is not set"), ({"PULSO_AUTHOR_KEY": "s3cr3t"}, "shorter")):
        with pytest.raises(ConfigError) as caught:
            load_settings(path, environ=environ)
        (error,) = caught.value.errors
        assert error.startswith(f"{path}: privacy.pseudonymise_authors: ")
        assert "PULSO_AUTHOR_KEY" in error and problem in error
        assert "s3cr3t" not in error  # never the key itself
    custom = _config(tmp_path, privacy={**PRIVACY, "key_env": "ACME_HASH_KEY"})
    with pytest.raises(ConfigError, match="ACME_HASH_KEY"):
        load_settings(custom, environ={"PULSO_AUTHOR_KEY": KEY})
    assert load_settings(custom, environ={"ACME_HASH_KEY": KEY}).privacy.pseudonymise_authors
    assert not load_settings(_config(tmp_path), environ={}).privacy.pseudonymise_authors


def test_check_config_reports_the_missing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, privacy=PRIVACY)
    assert main(["check-config", str(path)]) == 2
    assert "privacy.pseudonymise_authors" in capsys.readouterr().err


# --- a real collection -----------------------------------------------------------------


def _items() -> list[dict[str, Any]]:
    """The usual spike, plus Alice (two complaints that become examples) on X and
    Mastodon, and one post each on Mastodon and Bluesky by others."""
    spike = END - timedelta(minutes=10)
    extra = [
        mention(
            10_001,
            f"ACME lost my parcel and nobody answers, {MARKER}1",
            spike,
            author_handle=ALICE,
            author_name="Alice Liddell",
            url=f"https://x.com/{ALICE}/status/1800000000000010001",
            likes=400,
        ),
        mention(
            10_002,
            f"Second time ACME loses my parcel, worst courier ever, {MARKER}2",
            spike + timedelta(minutes=1),
            author_handle=ALICE,
            author_name="Alice Liddell",
            url=f"https://x.com/{ALICE}/status/1800000000000010002",
            likes=300,
        ),
        mention(
            10_003,
            f"ACME parcel gone again, {MARKER}3",
            spike + timedelta(minutes=2),
            source="mastodon",
            external_id="https://toot.example/users/alice_cx/statuses/1",
            url="https://toot.example/@alice_cx/1",
            author_handle="alice_cx",
            author_name="Alice on Mastodon",
        ),
        mention(
            10_004,
            "Ordered from ACME today, we will see",
            spike,
            source="mastodon",
            external_id="https://toot.example/users/masto_fan/statuses/2",
            url="https://toot.example/@masto_fan/2",
            author_handle="masto_fan",
            author_name="Masto Fan",
        ),
        mention(
            10_005,
            "ACME van outside again",
            spike,
            source="bluesky",
            external_id="at://did:plc:sky123/app.bsky.feed.post/3kabc",
            url="https://bsky.app/profile/sky.fan.bsky.social/post/3kabc",
            author_handle="sky.fan.bsky.social",
            author_name="Sky Fan",
        ),
    ]
    return sorted([*series(), *extra], key=lambda m: str(m["created_at"]))


def _collect(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, private: bool) -> Path:
    monkeypatch.setenv("PULSO_DATABASE_URL", url)
    if private:
        monkeypatch.setenv("PULSO_AUTHOR_KEY", KEY)
    replay = write_jsonl(tmp_path / "acme.jsonl", _items())
    extra: dict[str, Any] = {"privacy": PRIVACY} if private else {}
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db", **extra)
    rt = build_runtime(load_settings(config))
    try:
        assert run_once(rt, delivery_wait=0) == 0
    finally:
        rt.close()
    return config


def _quarantined(post: Mention) -> Any:
    """A quarantine row holding `post`, as the pipeline sets one aside."""
    from monitor.storage.quarantine import mention_payload

    return quarantine_row(post.external_id, datetime.now(UTC), mention_payload(post))


def _dump(rt: Runtime) -> str:
    """Every value of every row of every table, as text."""
    out: list[str] = []
    with rt.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                out.extend(json.dumps(v) if isinstance(v, dict | list) else str(v) for v in row)
    return "\n".join(out)


def test_a_pseudonymised_collection_stores_no_raw_handle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _collect(tmp_path, f"sqlite:///{tmp_path / 'pulso.db'}", monkeypatch, True)
    rt = build_runtime(load_settings(config))
    try:
        dump = _dump(rt)
        with rt.sessions() as session:
            handles = set(session.scalars(select(MentionRow.author_handle)))
            names = set(session.scalars(select(MentionRow.author_name)))
            stored = session.scalar(select(func.count()).select_from(MentionRow))
            alerts = session.scalar(select(func.count()).select_from(AlertRow))
    finally:
        rt.close()
    assert stored == len(_items()) and alerts == 1
    assert MARKER in dump and "anon:" in dump  # the dump does hold the posts
    assert names == {None}
    assert all(re.fullmatch(r"anon:[0-9a-f]{16}", h or "") for h in handles), handles
    assert len(handles) == 50 + 4  # user0..user49, Alice on X and on Mastodon, two others
    for raw in ("user\\s?\\d", "alice", "masto_fan", "masto fan", "sky.fan", "sky fan"):
        assert not re.search(raw, dump, re.IGNORECASE), raw
    assert "https://x.com/i/web/status/" in dump


# --- forget-author ---------------------------------------------------------------------


def _examples(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    scrub_examples(value, lambda e: bool(found.append(dict(e))))
    return found


def _counts(session: Session) -> dict[str, int]:
    return {
        table.__tablename__: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in (MentionRow, MentionBrandRow, MentionTouchpointRow, MentionThemeRow)
    }


def _orphans(session: Session) -> int:
    known = select(MentionRow.id)
    return sum(
        int(
            session.scalar(
                select(func.count()).select_from(table).where(table.mention_id.not_in(known))
            )
            or 0
        )
        for table in (MentionBrandRow, MentionTouchpointRow, MentionThemeRow)
    )


@pytest.mark.parametrize("private", [False, True], ids=["raw", "pseudonymised"])
def test_forget_author_erases_their_mentions_and_examples_only(
    tmp_path: Path,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    private: bool,
) -> None:
    config = _collect(tmp_path, database, monkeypatch, private)
    settings = load_settings(config)
    author = Author(ALICE, pseudonymiser=Pseudonymiser.from_settings(settings.privacy))
    rt = build_runtime(settings)
    try:
        with rt.sessions.begin() as session:
            before = _counts(session)
            (alert,) = session.scalars(select(AlertRow))
            (sent,) = session.scalars(select(OutboxRow))
            payload = dict(sent.payload)
            shown = _examples(payload)
            assert any(author.wrote(e) for e in shown)  # Alice is among the examples...
            assert any(not author.wrote(e) for e in shown)  # ...and so is someone else
            # An incident that kept its examples, and a message not yet delivered.
            alert.details = {**alert.details, "examples": payload["examples"]}
            session.add(
                OutboxRow(
                    idempotency_key="unsent-copy",
                    notifier="console",
                    alert_id=alert.id,
                    event="updated",
                    payload=payload,
                    status="pending",
                    next_attempt_at=datetime.now(UTC),
                    created_at=datetime.now(UTC),
                )
            )
            # Set aside in the quarantine: one of hers (as collected), one of someone else.
            stored_handle = (
                "alice_cx" if not private else author.pseudonymiser.pseudonym("x", ALICE)
            )
            for who, ext in ((stored_handle, "q-alice"), ("bob", "q-bob")):
                post = Mention("x", ext, "a post \ud83d", END, author_handle=who)
                session.add(_quarantined(post))
        capsys.readouterr()

        assert main(["forget-author", "@alice_cx", "--config", str(config), "--yes"]) == 0

        out = capsys.readouterr().out
        assert "mentions: 3" in out  # two on X, one on Mastodon
        assert "mention_brands: 3" in out
        assert "alerts scrubbed: 1" in out and "outbox payloads scrubbed: 2" in out
        assert "quarantine: 1" in out
        dump = _dump(rt)
        assert MARKER not in dump
        assert not re.search("alice", dump, re.IGNORECASE)
        if private:
            for source in ("x", "mastodon"):
                assert author.pseudonymiser.pseudonym(source, ALICE) not in dump
        with rt.sessions() as session:
            after = _counts(session)
            assert _orphans(session) == 0
            (alert,) = session.scalars(select(AlertRow))
            rows = list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
        assert after["mentions"] == before["mentions"] - 3
        assert after["mention_brands"] == before["mention_brands"] - 3
        others = [e for e in shown if not author.wrote(e)]
        assert alert.details["examples"] == [e for e in payload["examples"] if e in others]
        assert alert.details["observed_negative"] == payload["observed_negative"]
        for row in rows:
            assert _examples(row.payload) == others
            # Counts stay what they were: only the posts go.
            for key in ("observed_negative", "observed_total", "sources", "touchpoints"):
                assert row.payload[key] == payload[key]
            assert [t["size"] for t in row.payload["themes"]] == [
                t["size"] for t in payload["themes"]
            ]
    finally:
        rt.close()

    # Asked again, there is nothing left to erase; other authors are untouched.
    assert main(["forget-author", ALICE, "--config", str(config), "--yes"]) == 0
    assert "mentions: 0" in capsys.readouterr().out


def test_forget_author_on_one_source_and_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _collect(tmp_path, f"sqlite:///{tmp_path / 'pulso.db'}", monkeypatch, True)
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    assert main(["forget-author", ALICE, "--config", str(config)]) == 1
    assert "nothing erased" in capsys.readouterr().out
    args = ["forget-author", ALICE, "--source", "mastodon", "--config", str(config)]
    monkeypatch.setattr("builtins.input", lambda _prompt: "y")
    assert main(args) == 0
    assert "mentions: 1" in capsys.readouterr().out
    assert main(["forget-author", ALICE, "--source", "x", "--config", str(config), "--yes"]) == 0
    assert "mentions: 2" in capsys.readouterr().out
