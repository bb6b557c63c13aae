"""The same pipeline on the real PostgreSQL server (127.0.0.1:5432), in a throwaway database."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from monitor.runtime import build_runtime
from monitor.service.daemon import run_once
from monitor.settings import load_settings
from monitor.storage.schema import AlertRow, Base, MentionRow
from tests.fakes.slack_api import FakeSlack
from tests.helpers import series, write_config, write_jsonl


def test_pipeline_on_postgres(
    tmp_path: Path, postgres_url: str, slack_env: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSO_DATABASE_URL", postgres_url)
    replay = write_jsonl(tmp_path / "acme.jsonl", series())
    config = write_config(tmp_path / "pulso.yaml", replay, tmp_path / "unused.db")
    settings = load_settings(config)
    assert settings.database_url == postgres_url
    for _ in range(2):
        rt = build_runtime(settings)
        assert run_once(rt, delivery_wait=0) == 0
        rt.close()
    rt = build_runtime(settings)
    with rt.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MentionRow)) == len(series())
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 1
    rt.close()
    assert len(slack_env.messages) == 1
