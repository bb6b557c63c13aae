"""The digest preview in a real headless Chromium: every image loads, a screenshot is taken."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_digest_cli import store_week

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Test-only: after load, the page reports how many of its images failed to decode.
PROBE = (
    "<script>window.addEventListener('load', () => {"
    "const bad = [...document.images].filter(i => !i.complete || i.naturalWidth === 0);"
    "document.title = 'images ' + document.images.length + ' broken ' + bad.length;"
    "});</script>"
)


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (make test installs it)",
)
def test_preview_renders_with_every_image_in_chromium(tmp_path: Path) -> None:
    preview = store_week(tmp_path)
    html = preview.read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", probed.as_uri())
    assert "<title>images 2 broken 0</title>" in dom.stdout, dom.stderr[-2000:]
    shot = tmp_path / "digest.png"
    chromium(f"--screenshot={shot}", "--window-size=720,2400", preview.as_uri())
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
