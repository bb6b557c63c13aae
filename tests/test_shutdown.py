"""`pulso run` stops on SIGTERM within its grace period, cleanly or leaving a stuck job."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import series, write_config, write_jsonl

ROOT = Path(__file__).parents[1]
GRACE = 2.0


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Daemon:
    """`pulso run` in a subprocess, its stderr collected line by line as it comes."""

    def __init__(self, config: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSO_")}
        env["PULSO_LOG_FORMAT"] = "json"
        self.port = port
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli.main", "run", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def healthz(self) -> int | None:
        """The status /healthz answers, or None if nothing answers."""
        url = f"http://127.0.0.1:{self.port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def wait_healthy(self, timeout: float = 60) -> None:
        """Until /healthz says 200 (the scheduler runs and the database answers)."""
        deadline = time.monotonic() + timeout
        while self.healthz() != 200:
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until a log line contains `text`."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.1)

    def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit code and how long it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=GRACE + 15)
        self._reader.join(5)
        return code, time.monotonic() - started

    def records(self) -> list[dict[str, Any]]:
        """Every stderr line, parsed: each must be a JSON object."""
        return [json.loads(line) for line in self.lines]

    def output(self) -> str:
        return "".join(self.lines)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons started by a test; killed if the test leaves one running."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()


def _config(tmp_path: Path, port: int, **extra: Any) -> Path:
    replay = write_jsonl(tmp_path / "acme.jsonl", series(days=1))
    service = {"host": "127.0.0.1", "port": port, "shutdown_grace_seconds": GRACE}
    return write_config(
        tmp_path / "pulso.yaml", replay, tmp_path / "pulso.db", service=service, **extra
    )


def test_sigterm_stops_cleanly_within_the_grace(tmp_path: Path, daemons: list[Daemon]) -> None:
    port = free_port()
    daemon = Daemon(_config(tmp_path, port), port)
    daemons.append(daemon)
    daemon.wait_healthy()
    daemon.wait_for("collected acme/replay")
    code, took = daemon.stop()
    assert code == 0, daemon.output()
    assert took < GRACE + 5
    records = daemon.records()  # every line is JSON
    messages = [r["message"] for r in records]
    assert any(m.startswith("received SIGTERM") for m in messages), messages
    assert messages[-1] == "stopped cleanly", messages
    troubles = [r for r in records if r["level"] in ("WARNING", "ERROR", "CRITICAL")]
    assert not troubles, json.dumps(troubles, indent=1)
    assert daemon.healthz() is None  # the endpoint closed with it


def test_a_job_stuck_past_the_grace_is_left_behind(tmp_path: Path, daemons: list[Daemon]) -> None:
    # Reading a FIFO nobody writes to blocks forever: a collection that never ends.
    stuck = tmp_path / "stuck.jsonl"
    os.mkfifo(stuck)
    replay = write_jsonl(tmp_path / "acme.jsonl", series(days=1))
    brands = [
        {
            "id": brand,
            "name": brand.upper(),
            "keywords": ["ACME"],
            "sources": {"replay": {"path": str(path)}},
        }
        for brand, path in (("acme", replay), ("stuck", stuck))
    ]
    port = free_port()
    daemon = Daemon(_config(tmp_path, port, brands=brands), port)
    daemons.append(daemon)
    daemon.wait_healthy()
    daemon.wait_for("collected acme/replay")
    code, took = daemon.stop()
    assert code == 0, daemon.output()
    assert GRACE - 0.5 < took < GRACE + 5, took
    records = daemon.records()
    warnings = [r["message"] for r in records if r["level"] == "WARNING"]
    assert any("still running when the shutdown grace ran out" in w for w in warnings), warnings
    assert "stopped cleanly" not in [r["message"] for r in records]
