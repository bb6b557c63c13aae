"""`pulso digest --preview`: the week's digest from stored mentions, as a page to open."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models.sentiment import Sentiment
from monitor.cli.main import main
from monitor.digest.build import last_week
from monitor.kernel.records import Mention
from monitor.runtime import build_runtime
from monitor.settings import load_settings
from monitor.storage.mentions import store_mentions
from tests.helpers import mention, write_config, write_jsonl

MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # 2026-W47
COMPLAINTS = [
    "ACME lost my parcel, tracking says delivered",
    "my ACME parcel never arrived but the app says delivered",
    "ACME courier lost the parcel and marked it delivered",
    "ACME parcel marked delivered, nowhere to be found",
    "where is my ACME parcel, delivered to nobody",
    "ACME says delivered, parcel lost again <script>alert(1)</script>",
]


def store_mentions_of_week(tmp_path: Path) -> Path:
    """A config and a database holding 61 mentions of ACME in 2026-W47; the config path."""
    replay = write_jsonl(tmp_path / "r.jsonl", [mention(0, "ACME", MONDAY)])
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "db.sqlite")
    rt = build_runtime(load_settings(config))
    mentions, scores = [], {}
    for k in range(60):
        negative = k % 3 == 0
        text = f"{COMPLAINTS[k % 6]} #{k}" if negative else f"ACME order {k} arrived, thanks"
        m = Mention(
            source="x",
            external_id=str(k),
            text=text,
            created_at=MONDAY + timedelta(hours=2 * k),
            author_handle=f"user{k % 7}",
            url=f"https://x.com/user{k % 7}/status/{k}",
        )
        mentions.append(m)
        label = "negative" if negative else "positive"
        scores[m.key] = Sentiment(label, -0.7 if negative else 0.7, 0.9, "en", "t")
    own = Mention(  # the brand's own support account: not one of the week's voices
        source="x",
        external_id="own",
        text="ACME here: we are sorry, DM us",
        created_at=MONDAY,
        author_handle="ACME_Help",
        author_followers=1_000_000,
    )
    mentions.append(own)
    scores[own.key] = Sentiment("neutral", 0.0, 0.9, "en", "t")
    with rt.sessions.begin() as session:
        store_mentions(session, "acme", mentions, scores)
    rt.close()
    return config


def store_week(tmp_path: Path) -> Path:
    """`store_mentions_of_week`, then `pulso digest --preview`: the preview's path."""
    config = store_mentions_of_week(tmp_path)
    out = tmp_path / "digest.html"
    args = ["digest", "--config", str(config), "--week", "2026-W47", "--preview", str(out)]
    assert main([*args, "--locale", "es", "--tz", "Europe/Madrid"]) == 0
    return out


def test_preview_shows_the_week_with_its_charts_and_themes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_mentions_of_week(tmp_path)
    out = tmp_path / "digest.html"
    args = ["digest", "--config", str(config), "--week", "2026-W47", "--preview", str(out)]
    assert main([*args, "--locale", "es", "--tz", "Europe/Madrid"]) == 0
    assert "ACME — semana 47: 61 menciones" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 2 and "cid:" not in html
    assert "<script>alert(1)</script>" not in html
    assert re.search(r"parcel|delivered", html)  # a complaint theme is named
    assert "@user0" in html and "ACME_Help" not in html
    assert main([*args, "--week", "2026-47"]) == 2
    assert "2026-47" in capsys.readouterr().err


def test_last_week_is_the_last_complete_iso_week_in_the_zone() -> None:
    assert last_week("UTC", datetime(2026, 11, 23, 0, 30, tzinfo=UTC)) == "2026-W47"
    # Still Sunday night in Los Angeles: the last complete week there is W46.
    assert last_week("America/Los_Angeles", datetime(2026, 11, 23, 0, 30, tzinfo=UTC)) == "2026-W46"
