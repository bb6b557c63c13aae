"""Channel routing per brand and severity: the most specific route wins; bad routes are
refused at start with the file and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.settings import ConfigError, load_settings
from notifiers.slack import SlackSettings

CONFIG = """
brands:
  - id: paquetto
    name: Paquetto
    keywords: [Paquetto]
    sources:
      replay: {path: bundled}
  - id: nubento
    name: Nubento
    keywords: [Nubento]
    sources:
      replay: {path: bundled}
notifiers:
  slack:
"""
ROUTES = """    channel: "#cx-alerts"
    routes:
      - {brand: paquetto, severity: critical, channel: "#paquetto-war-room"}
      - {brand: nubento, channel: "#nubento"}
      - {severity: critical, channel: "#cx-oncall"}
"""
ENV = {"PULSO_SLACK_BOT_TOKEN": "xoxb-1"}


def _load(tmp_path: Path, slack: str, env: dict[str, str] | None = None) -> SlackSettings:
    path = tmp_path / "pulso.yaml"
    path.write_text(CONFIG + slack, encoding="utf-8")
    settings = load_settings(path, environ=env or ENV).notifiers.enabled()["slack"]
    assert isinstance(settings, SlackSettings)
    return settings


def _errors(tmp_path: Path, slack: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, slack)
    return caught.value.errors


@pytest.mark.parametrize(
    ("brand", "severity", "channel"),
    [
        ("paquetto", "critical", "#paquetto-war-room"),  # brand + severity
        ("paquetto", "warning", "#cx-alerts"),  # no route for it: the default
        ("nubento", "critical", "#nubento"),  # brand beats severity
        ("nubento", "warning", "#nubento"),
        ("acme", "critical", "#cx-oncall"),  # severity
        ("acme", "warning", "#cx-alerts"),
    ],
)
def test_the_most_specific_route_wins(
    tmp_path: Path, brand: str, severity: str, channel: str
) -> None:
    assert _load(tmp_path, ROUTES).channel_for(brand, severity) == channel


def test_routes_do_not_depend_on_their_order(tmp_path: Path) -> None:
    reordered = "\n".join(reversed(ROUTES.splitlines()[2:]))
    slack = _load(tmp_path, ROUTES.splitlines()[0] + "\n    routes:\n" + reordered + "\n")
    assert slack.channel_for("paquetto", "critical") == "#paquetto-war-room"
    assert slack.channel_for("nubento", "critical") == "#nubento"


def test_the_environment_sets_the_default_channel_and_routes_still_apply(tmp_path: Path) -> None:
    slack = _load(tmp_path, ROUTES, {**ENV, "PULSO_SLACK_CHANNEL": "C0DEFAULT"})
    assert slack.channel_for("acme", "warning") == "C0DEFAULT"
    assert slack.channel_for("nubento", "warning") == "#nubento"


@pytest.mark.parametrize(
    ("route", "path", "message"),
    [
        ("{brand: paquetto, chanel: '#x'}", "routes[0].chanel", "unknown key"),
        ("{brand: paquetto, channel: ''}", "routes[0].channel", "must be a channel name"),
        ("{brand: paquetto, channel: '# war room'}", "routes[0].channel", "no spaces"),
        ("{brand: paquetto}", "routes[0].channel", "required"),
        ("{channel: '#x'}", "routes[0]", "a route needs `brand`, `severity` or both"),
        ("{severity: urgent, channel: '#x'}", "routes[0].severity", "'warning' or 'critical'"),
        ("{brand: Paquetto, channel: '#x'}", "routes[0].brand", "pattern"),
    ],
)
def test_bad_routes_name_the_key(tmp_path: Path, route: str, path: str, message: str) -> None:
    errors = _errors(tmp_path, f"    channel: '#cx'\n    routes: [{route}]\n")
    prefix = f"pulso.yaml: notifiers.slack.{path}: "
    assert any(prefix in error and message in error for error in errors), errors


def test_a_repeated_route_is_refused(tmp_path: Path) -> None:
    routes = (
        "[{brand: a, channel: '#a'}, {severity: critical, channel: '#b'}, "
        "{brand: a, channel: '#c'}]"
    )
    (error,) = _errors(tmp_path, f"    channel: '#cx'\n    routes: {routes}\n")
    assert "notifiers.slack.routes: " in error
    assert "routes[2] has the same brand and severity as routes[0]" in error


def test_an_empty_default_channel_is_refused(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, "    channel: '  '\n")
    assert "notifiers.slack.channel: " in error
