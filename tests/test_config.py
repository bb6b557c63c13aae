"""Configuration errors name the file and the key; secrets come from the environment only."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.settings import ConfigError, load_settings

ROOT = Path(__file__).parents[1]

GOOD = """
brands:
  - id: acme
    name: ACME
    keywords: [ACME]
    sources:
      replay: {path: bundled}
"""


def _errors(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "pulso.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=env or {})
    return caught.value.errors


def test_shipped_configs_are_valid() -> None:
    demo = load_settings(ROOT / "config" / "demo.yaml", environ={})
    assert [b.id for b in demo.brands] == ["paquetto", "nubento"]
    example = load_settings(
        ROOT / "config" / "pulso.example.yaml", environ={"PULSO_SLACK_BOT_TOKEN": "xoxb-1"}
    )
    assert set(example.notifiers.enabled()) == {"console", "slack"}


def test_missing_key_names_file_and_path(tmp_path: Path) -> None:
    errors = _errors(tmp_path, GOOD.replace("    keywords: [ACME]\n", ""))
    assert errors == [f"{tmp_path / 'pulso.yaml'}: brands[0].keywords: required key is missing"]


def test_wrong_type_names_file_and_path(tmp_path: Path) -> None:
    text = GOOD + "detector:\n  negative_spike:\n    min_count: lots\n"
    (error,) = _errors(tmp_path, text)
    assert error.startswith(f"{tmp_path / 'pulso.yaml'}: detector.negative_spike.min_count: ")
    assert "integer" in error


def test_unknown_source_lists_the_known_ones(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, GOOD.replace("replay: {path: bundled}", "twitter: {}"))
    known = "x, reddit, mastodon, bluesky, hackernews, rss, replay"
    assert f"brands[0].sources.twitter: unknown source 'twitter'; known sources: {known}" in error


def test_an_enabled_source_without_credentials_names_its_variables(tmp_path: Path) -> None:
    errors = _errors(tmp_path, GOOD.replace("replay: {path: bundled}", "reddit: {}"))
    assert any(
        "brands[0].sources.reddit.client_id: missing secret: set PULSO_REDDIT_CLIENT_ID" in e
        for e in errors
    ), errors


def test_nested_source_setting_error(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, GOOD.replace("{path: bundled}", "{align: yesterday}"))
    assert "brands[0].sources.replay.align:" in error


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("id: acme", "id: Not A Slug") + "detector:\n  windows_minutes: [-1]\n"
    errors = _errors(tmp_path, text)
    assert any(": brands[0].id: " in e for e in errors)
    assert any(": detector.windows_minutes[0]: " in e for e in errors)


def test_missing_secret_names_the_variable(tmp_path: Path) -> None:
    text = GOOD + "notifiers:\n  slack: {channel: '#cx'}\n"
    (error,) = _errors(tmp_path, text)
    assert error.endswith(
        "notifiers.slack.token: missing secret: set PULSO_SLACK_BOT_TOKEN "
        "(or PULSO_SLACK_BOT_TOKEN_FILE)"
    )


def test_secret_in_the_yaml_is_refused_and_never_echoed(tmp_path: Path) -> None:
    text = GOOD + "notifiers:\n  slack: {channel: '#cx', token: xoxb-leaked-123}\n"
    errors = _errors(tmp_path, text, {"PULSO_SLACK_BOT_TOKEN": "xoxb-env"})
    assert "notifiers.slack.token: secrets are not read from the config file" in errors[0]
    assert "leaked" not in "".join(errors)


def test_secret_from_file_is_masked(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("xoxb-from-file\n", encoding="utf-8")
    path = tmp_path / "pulso.yaml"
    path.write_text(GOOD + "notifiers:\n  slack: {channel: '#cx'}\n", encoding="utf-8")
    env = {"PULSO_SLACK_BOT_TOKEN_FILE": str(secret), "PULSO_SLACK_CHANNEL": "#alerts"}
    settings = load_settings(path, environ=env)
    slack = settings.notifiers.enabled()["slack"]
    assert slack.token.get_secret_value() == "xoxb-from-file"  # type: ignore[attr-defined]
    assert slack.channel == "#alerts"  # type: ignore[attr-defined]
    assert "xoxb-from-file" not in repr(settings) and "xoxb-from-file" not in str(settings)


def test_slack_by_environment_alone(tmp_path: Path) -> None:
    path = tmp_path / "pulso.yaml"
    path.write_text(GOOD, encoding="utf-8")
    env = {"PULSO_SLACK_BOT_TOKEN": "xoxb-1", "PULSO_SLACK_CHANNEL": "#cx"}
    settings = load_settings(path, environ=env)
    assert set(settings.notifiers.enabled()) == {"console", "slack"}


def test_database_url_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "pulso.yaml"
    path.write_text(GOOD, encoding="utf-8")
    settings = load_settings(path, environ={"PULSO_DATABASE_URL": "sqlite:///elsewhere.db"})
    assert settings.database_url == "sqlite:///elsewhere.db"


def test_brand_detector_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "pulso.yaml"
    text = GOOD.replace(
        "    keywords: [ACME]\n",
        "    keywords: [ACME]\n    detector: {negative_spike: {min_count: 3}}\n",
    )
    glob = "detector:\n  baseline_days: 5\n  negative_spike: {z_warning: 5}\n"
    path.write_text(text + glob, encoding="utf-8")
    detector = load_settings(path, environ={}).brands[0].detector
    assert (detector.negative_spike.min_count, detector.baseline_days) == (3, 5)
    assert detector.negative_spike.z_warning == 5  # the global value the brand did not name
    assert detector.volume_spike.z_warning is None  # the default: calibrated to the budget


def test_silences_need_a_time_zone_and_a_known_rule(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    keywords: [ACME]\n",
        "    keywords: [ACME]\n    silences: [{until: '2026-12-01T00:00:00', rules: [loud]}]\n",
    )
    errors = _errors(tmp_path, text)
    assert any("brands[0].silences[0].until:" in e and "timezone" in e for e in errors)
    assert any("brands[0].silences[0].rules[0]:" in e for e in errors)


def test_settings_are_frozen(tmp_path: Path) -> None:
    path = tmp_path / "pulso.yaml"
    path.write_text(GOOD, encoding="utf-8")
    settings = load_settings(path, environ={})
    with pytest.raises(Exception, match="frozen"):
        settings.brands[0].detector.min_count = 1  # type: ignore[misc]


def test_invalid_yaml_gives_line_and_column(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, "brands: [\n  - id: x\n")
    assert error.startswith(f"{tmp_path / 'pulso.yaml'}: line ")


def test_check_config_prints_errors_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pulso.yaml"
    path.write_text(GOOD.replace("replay: {path: bundled}", "myspace: {}"), encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    assert f"{path}: brands[0].sources.myspace: unknown source" in capsys.readouterr().err
    path.write_text(GOOD, encoding="utf-8")
    assert main(["check-config", str(path)]) == 0


def test_daemon_refuses_to_start_on_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pulso.yaml"
    path.write_text(GOOD.replace("name: ACME", "name: 7\n    nme: typo"), encoding="utf-8")
    assert main(["run", "--config", str(path), "--once"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: brands[0].nme: unknown key" in err
    assert "refusing to start" in err
    assert not (tmp_path / "data").exists()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read the file"):
        load_settings(tmp_path / "nope.yaml")


def test_slack_routes_must_name_configured_brands(tmp_path: Path) -> None:
    text = GOOD + (
        "notifiers:\n  slack:\n    channel: '#cx'\n    routes: [{brand: acmee, channel: '#acme'}]\n"
    )
    path = tmp_path / "pulso.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"PULSO_SLACK_BOT_TOKEN": "xoxb-test"})
    assert "notifiers.slack.routes[0].brand: no brand 'acmee' (brands: acme)" in str(caught.value)


def test_an_enabled_source_without_its_client_package_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "atproto" else real(name)
    )
    environ = {"PULSO_BLUESKY_HANDLE": "acme.bsky.social", "PULSO_BLUESKY_APP_PASSWORD": "x"}
    path = tmp_path / "pulso.yaml"
    path.write_text(GOOD.replace("replay: {path: bundled}", "bluesky: {}"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ)
    assert (
        f"{path}: brands[0].sources: bluesky: needs the Python package atproto "
        "(pip install 'pulso[bluesky]')"
    ) in caught.value.errors
    # A source nobody enables is never asked for.
    path.write_text(GOOD, encoding="utf-8")
    load_settings(path, environ={})


def test_a_replay_file_that_does_not_exist_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.jsonl"
    path = tmp_path / "pulso.yaml"
    path.write_text(GOOD.replace("{path: bundled}", f"{{path: {missing}}}"), encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}: brands[0].sources.replay.path: no such file: {missing}"
        " (a relative path is read from the folder Pulso runs in)\n"
    )
    missing.write_text("", encoding="utf-8")
    assert main(["check-config", str(path)]) == 0
