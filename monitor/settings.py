"""Configuration: one YAML file, validated once into frozen settings.

Errors name the file and the key path (`pulso.yaml: brands[0].keywords: ...`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from notifiers import NOTIFIERS, NotifierSettings
from sources import SOURCES, SourceSettings

DATABASE_URL_VAR = "PULSO_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///./data/pulso.db"


class ConfigError(Exception):
    """The configuration is unusable; `errors` holds one `FILE: key.path: message` each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class Frozen(BaseModel):
    """Base for settings: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SentimentSettings(Frozen):
    """Which engine scores mentions (see README: Sentiment engines)."""

    engine: Literal["auto", "embedded", "vader", "transformer"] = "auto"
    model: str | None = Field(default=None, description="transformer: local folder or hub id")
    threads: int | None = Field(default=None, ge=1, le=256)
    batch_size: int = Field(default=32, ge=1, le=1024)
    allow_download: bool = False
    negative_below: float = Field(default=-0.05, ge=-1, le=0, description="vader only")
    positive_above: float = Field(default=0.05, ge=0, le=1, description="vader only")


class DetectorSettings(Frozen):
    """Negative-spike rule thresholds (a brand may override any of them)."""

    bucket_minutes: int = Field(default=5, ge=1, le=60)
    window_minutes: int = Field(default=15, ge=1, le=240)
    baseline_days: int = Field(default=7, ge=1, le=28)
    min_count: int = Field(default=10, ge=1, description="negatives in the window, at least")
    min_excess: int = Field(default=6, ge=0, description="negatives above the usual, at least")
    z_warning: float = Field(default=4.0, gt=0)
    z_critical: float = Field(default=8.0, gt=0)
    share_margin: float = Field(default=0.10, ge=0, le=1)
    cold_start_min_count: int = Field(default=25, ge=1)
    resolve_after_minutes: int = Field(default=30, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> DetectorSettings:
        if self.window_minutes % self.bucket_minutes:
            raise ValueError("window_minutes must be a multiple of bucket_minutes")
        if self.z_critical < self.z_warning:
            raise ValueError("z_critical must be at least z_warning")
        return self


class SourcesBase(Frozen):
    """The sources a brand enables, one key per registered source."""

    def enabled(self) -> dict[str, SourceSettings]:
        """Enabled sources by name, in registry order."""
        found = {name: getattr(self, name, None) for name in SOURCES}
        return {n: s for n, s in found.items() if isinstance(s, SourceSettings) and s.enabled}


class NotifiersBase(Frozen):
    """The notifiers alerts go to, one key per registered notifier."""

    def enabled(self) -> dict[str, NotifierSettings]:
        """Enabled notifiers by name, in registry order."""
        found = {name: getattr(self, name, None) for name in NOTIFIERS}
        return {n: s for n, s in found.items() if isinstance(s, NotifierSettings) and s.enabled}


if TYPE_CHECKING:
    SourcesModel = SourcesBase
    NotifiersModel = NotifiersBase
else:
    SourcesModel = create_model(
        "SourcesModel",
        __base__=SourcesBase,
        **{name: (cls.Settings | None, None) for name, cls in SOURCES.items()},
    )
    NotifiersModel = create_model(
        "NotifiersModel",
        __base__=NotifiersBase,
        **{name: (cls.Settings | None, None) for name, cls in NOTIFIERS.items()},
    )


class BrandSettings(Frozen):
    """A brand to watch: how to recognise it, where to look, how to judge spikes."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    name: str = Field(min_length=1)
    keywords: tuple[str, ...] = Field(min_length=1)
    exclusions: tuple[str, ...] = ()
    languages: tuple[Annotated[str, Field(pattern=r"^[a-z]{2}$")], ...] = Field(
        default=("en", "es"), min_length=1
    )
    sources: SourcesModel
    detector: DetectorSettings = DetectorSettings()

    @model_validator(mode="after")
    def _has_source(self) -> BrandSettings:
        if not self.sources.enabled():
            raise ValueError("enable at least one source under `sources`")
        return self


class Settings(Frozen):
    """Everything Pulso needs to run, validated."""

    database_url: str = DEFAULT_DATABASE_URL
    brands: tuple[BrandSettings, ...]
    sentiment: SentimentSettings = SentimentSettings()
    detector: DetectorSettings = DetectorSettings()
    notifiers: NotifiersModel = Field(
        default_factory=lambda: NotifiersModel.model_validate({"console": {}})
    )
    deliver_interval_seconds: int = Field(default=15, ge=1)
    touchpoints: str | None = Field(
        default=None,
        description="taxonomy file, relative to this config; default touchpoints.yaml beside it",
    )

    @model_validator(mode="after")
    def _brand_detector_defaults(self) -> Settings:
        # A brand's `detector` overrides only the keys it names; the rest are global.
        brands = []
        for brand in self.brands:
            own = brand.detector.model_dump(include=brand.detector.model_fields_set)
            merged = DetectorSettings.model_validate({**self.detector.model_dump(), **own})
            brands.append(brand.model_copy(update={"detector": merged}))
        object.__setattr__(self, "brands", tuple(brands))
        return self

    def languages(self) -> tuple[str, ...]:
        """Every language some brand expects, in order of first mention."""
        return tuple(dict.fromkeys(lang for brand in self.brands for lang in brand.languages))

    @model_validator(mode="after")
    def _taxonomy_readable(self) -> Settings:
        if self.touchpoints is not None and not Path(self.touchpoints).is_file():
            raise ValueError(f"touchpoints: no taxonomy file at {self.touchpoints}")
        return self

    @model_validator(mode="after")
    def _unique_brands(self) -> Settings:
        if not self.brands:
            raise ValueError("`brands` must list at least one brand")
        ids = [b.id for b in self.brands]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"brand ids must be unique: {', '.join(duplicates)}")
        return self


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, complete from the environment, and validate a config file."""
    environ = os.environ if environ is None else environ
    name = str(path)
    raw = _read_yaml(Path(path))
    if environ.get(DATABASE_URL_VAR):
        raw["database_url"] = environ[DATABASE_URL_VAR]
    raw = _slack_from_environment(raw, environ)
    raw = _touchpoints_file(raw, Path(path))
    try:
        settings = Settings.model_validate(raw, context={"environ": environ})
    except ValidationError as exc:
        errors = [f"{name}: {where(e['loc'])}: {explain(e)}" for e in exc.errors()]
        raise ConfigError(errors) from None
    if settings.touchpoints:
        from models.touchpoints import TaxonomyError, load_taxonomy

        try:
            load_taxonomy(settings.touchpoints)
        except TaxonomyError as exc:
            raise ConfigError(exc.errors) from None
    return settings


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the file: {exc.strerror}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{path}: {at}: invalid YAML: {problem}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: (top level): expected a mapping of settings"])
    return data


def _touchpoints_file(raw: dict[str, Any], config: Path) -> dict[str, Any]:
    # Relative to the config file; by default the touchpoints.yaml beside it, if any.
    value = raw.get("touchpoints")
    if value is None:
        beside = config.parent / "touchpoints.yaml"
        return {**raw, "touchpoints": str(beside)} if beside.exists() else raw
    if isinstance(value, str) and value:
        return {**raw, "touchpoints": str(config.parent / value)}
    return raw


def _slack_from_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    # A token and a channel in the environment are enough to turn Slack on.
    has_token = environ.get("PULSO_SLACK_BOT_TOKEN") or environ.get("PULSO_SLACK_BOT_TOKEN_FILE")
    if not (has_token and environ.get("PULSO_SLACK_CHANNEL")):
        return raw
    notifiers = raw.get("notifiers")
    if notifiers is None:
        notifiers = {"console": {}}
    if isinstance(notifiers, dict) and "slack" not in notifiers:
        return {**raw, "notifiers": {**notifiers, "slack": {}}}
    return raw


def where(loc: tuple[int | str, ...]) -> str:
    """`("brands", 0, "keywords")` → `brands[0].keywords`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def explain(error: Any) -> str:
    """A pydantic error as a sentence a user can act on."""
    loc, kind, message = error["loc"], error["type"], str(error["msg"])
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden" and len(loc) >= 2 and loc[-2] == "sources":
        return f"unknown source {loc[-1]!r}; known sources: {', '.join(SOURCES)}"
    if kind == "extra_forbidden" and len(loc) >= 2 and loc[-2] == "notifiers":
        return f"unknown notifier {loc[-1]!r}; known notifiers: {', '.join(NOTIFIERS)}"
    if kind == "extra_forbidden":
        return "unknown key"
    return re.sub(r"^(Value error|Assertion failed), ", "", message)
