"""Configuration: one YAML file, validated once into frozen settings.

Errors name the file and the key path (`pulso.yaml: brands[0].keywords: ...`).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from notifiers import NOTIFIERS, MailSettings, NotifierSettings
from sources import SOURCES, SourceSettings

DATABASE_URL_VAR = "PULSO_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///./data/pulso.db"
AUTHOR_KEY_MIN_CHARS = 16


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


class RuleSettings(Frozen):
    """Thresholds of one spike rule; every condition must hold for it to fire."""

    enabled: bool = True
    min_count: int = Field(ge=1, description="counted mentions in the window, at least")
    min_excess: int = Field(ge=0, description="mentions above the usual, at least")
    z_warning: float = Field(gt=0, description="robust z over the baseline for a warning")
    z_critical: float = Field(gt=0, description="... and for a critical alert")
    cold_start_min_count: int = Field(ge=1, description="under cold_start_days of history")

    @model_validator(mode="after")
    def _levels(self) -> RuleSettings:
        if self.z_critical < self.z_warning:
            raise ValueError("z_critical must be at least z_warning")
        return self


class NegativeRuleSettings(RuleSettings):
    """`negative_spike`: a burst of negative mentions with an unusually negative share."""

    min_count: int = Field(default=5, ge=1)
    min_excess: int = Field(default=4, ge=0)
    z_warning: float = Field(default=4.0, gt=0)
    z_critical: float = Field(default=8.0, gt=0)
    cold_start_min_count: int = Field(default=25, ge=1)
    share_z: float = Field(
        default=3.0, ge=0, description="binomial z of the share against its usual level"
    )
    share_margin: float = Field(default=0.05, ge=0, le=1, description="share points above usual")


class VolumeRuleSettings(RuleSettings):
    """`volume_spike`: far more mentions than usual, whatever their sentiment."""

    min_count: int = Field(default=30, ge=1)
    min_excess: int = Field(default=20, ge=0)
    z_warning: float = Field(default=6.0, gt=0)
    z_critical: float = Field(default=12.0, gt=0)
    cold_start_min_count: int = Field(default=100, ge=1)


class DetectorSettings(Frozen):
    """How counts are bucketed and judged (a brand may override any key)."""

    bucket_minutes: int = Field(default=5, ge=1, le=60)
    windows_minutes: tuple[Annotated[int, Field(ge=1, le=1440)], ...] = Field(
        default=(15, 60, 120),
        min_length=1,
        description="windows judged at each tick; the longer ones hear low-volume brands",
    )
    baseline_days: int = Field(default=7, ge=1, le=28)
    weekly_after_days: int | None = Field(
        default=28, ge=14, le=365, description="history that switches to hour-of-week"
    )
    cold_start_days: float = Field(default=2.0, ge=0, le=28)
    pending_minutes: int = Field(
        default=0, ge=0, le=240, description="must keep firing this long before it opens"
    )
    resolve_after_minutes: int = Field(default=30, ge=0)
    z_resolve: float = Field(default=3.0, ge=0, description="below this z, the incident calms")
    source_down_minutes: int = Field(
        default=30, ge=1, description="a source failing this long opens a source_down alert"
    )
    source_silence_hours: int = Field(
        default=2, ge=0, le=24, description="no mentions this long, when usually many: alert"
    )
    negative_spike: NegativeRuleSettings = NegativeRuleSettings()
    volume_spike: VolumeRuleSettings = VolumeRuleSettings()

    @model_validator(mode="after")
    def _consistent(self) -> DetectorSettings:
        for value in self.windows_minutes:
            if value % self.bucket_minutes:
                raise ValueError(f"windows_minutes: {value} is not a multiple of bucket_minutes")
        return self

    def rule(self, name: str) -> RuleSettings:
        """The settings of rule `name`."""
        found = getattr(self, name, None)
        if not isinstance(found, RuleSettings):
            raise KeyError(name)
        return found


RuleName = Literal["negative_spike", "volume_spike"]
RULES: tuple[RuleName, ...] = ("negative_spike", "volume_spike")


class Silence(Frozen):
    """A planned quiet period: no new incident opens for these rules until `until`."""

    until: AwareDatetime
    start: AwareDatetime | None = None
    rules: tuple[RuleName, ...] = RULES
    reason: str = ""

    def covers(self, rule: str, at: datetime) -> bool:
        """Whether `rule` is silenced at `at`."""
        started = self.start is None or self.start <= at
        return rule in self.rules and started and at < self.until


class SourcesBase(Frozen):
    """The sources a brand enables, one key per registered source."""

    def enabled(self) -> dict[str, SourceSettings]:
        """Enabled sources by name, in registry order."""
        found = {name: getattr(self, name, None) for name in SOURCES}
        return {n: s for n, s in found.items() if isinstance(s, SourceSettings) and s.enabled}

    @model_validator(mode="after")
    def _packages_installed(self) -> SourcesBase:
        missing = [
            f"{name}: needs the Python package {package} (pip install '{install}')"
            for name in self.enabled()
            for module, package, install in SOURCES[name].requires
            if importlib.util.find_spec(module) is None
        ]
        if missing:
            raise ValueError("; ".join(missing))
        return self


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
    silences: tuple[Silence, ...] = ()

    def silenced(self, rule: str, at: datetime) -> bool:
        """Whether a configured silence holds back new `rule` incidents at `at`."""
        return any(s.covers(rule, at) for s in self.silences)

    @model_validator(mode="after")
    def _has_source(self) -> BrandSettings:
        if not self.sources.enabled():
            raise ValueError("enable at least one source under `sources`")
        return self


class DigestSettings(Frozen):
    """The weekly digest email (see README: The weekly digest).

    ```yaml
    digest:
      day: mon              # sent after this local day and time, once per brand and week
      time: "08:00"
      timezone: Europe/Madrid
      locale: es            # en or es
      recipients: [marketing@example.com]
      smtp: {host: smtp.example.com, port: 587, security: starttls, sender: pulso@example.com}
    ```
    """

    enabled: bool = True
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: str = Field(default="08:00", description="local time, HH:MM")
    timezone: str = "UTC"
    locale: Literal["en", "es"] = "en"
    recipients: tuple[Annotated[str, Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$")], ...] = Field(
        min_length=1
    )
    brands: tuple[str, ...] = Field(default=(), description="default: every brand")
    smtp: MailSettings

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"{value!r} is not a time such as 08:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Madrid)") from None
        return value


class RetentionSettings(Frozen):
    """How long each table keeps its rows (days); applied once a day."""

    mentions_days: int = Field(default=400, ge=1)
    alerts_days: int = Field(default=730, ge=1, description="resolved incidents")
    outbox_days: int = Field(default=90, ge=1, description="delivered alert messages")
    digests_days: int = Field(default=400, ge=1, description="sent digests")


class PrivacySettings(Frozen):
    """Author pseudonymisation: store a keyed hash instead of the handle."""

    pseudonymise_authors: bool = False
    key_env: str = Field(
        default="PULSO_AUTHOR_KEY", description="environment variable holding the hash key"
    )


class ServiceSettings(Frozen):
    """The long-running process: its HTTP endpoint (/healthz, /metrics) and shutdown."""

    http_enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(default=8321, ge=0, le=65535)
    shutdown_grace_seconds: float = Field(default=30.0, gt=0)


class WorkerSettings(Frozen):
    """Scaled mode (`pulso worker` on PostgreSQL with procrastinate)."""

    tick_seconds: int = Field(
        default=15, ge=1, le=60, description="how often the cluster looks for due work"
    )
    score_batch: int = Field(default=64, ge=1, le=5000)
    concurrency: int = Field(default=1, ge=1, le=64, description="jobs at once per worker")
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    stalled_after_seconds: float = Field(
        default=30.0, gt=0, description="a worker silent this long is dead; its jobs rerun"
    )
    keep_finished_jobs_hours: int = Field(default=24, ge=1)

    @field_validator("tick_seconds")
    @classmethod
    def _divides_a_minute(cls, value: int) -> int:
        if 60 % value:
            raise ValueError("must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)")
        return value


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
    digest: DigestSettings | None = None
    retention: RetentionSettings = RetentionSettings()
    privacy: PrivacySettings = PrivacySettings()
    service: ServiceSettings = ServiceSettings()
    worker: WorkerSettings = WorkerSettings()
    touchpoints: str | None = Field(
        default=None,
        description="taxonomy file, relative to this config; default touchpoints.yaml beside it",
    )

    @model_validator(mode="after")
    def _brand_detector_defaults(self) -> Settings:
        # A brand's `detector` overrides only the keys it names; the rest are global.
        brands = []
        for brand in self.brands:
            merged = DetectorSettings.model_validate(
                _deep_merge(self.detector.model_dump(), explicit(brand.detector))
            )
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
    def _routes_name_known_brands(self) -> Settings:
        ids = {b.id for b in self.brands}
        for name, notifier in self.notifiers.enabled().items():
            for index, route in enumerate(getattr(notifier, "routes", ())):
                brand = getattr(route, "brand", None)
                if brand is not None and brand not in ids:
                    raise ValueError(
                        f"notifiers.{name}.routes[{index}].brand: no brand {brand!r} "
                        f"(brands: {', '.join(sorted(ids))})"
                    )
        return self

    @model_validator(mode="after")
    def _digest_brands_known(self) -> Settings:
        ids = {b.id for b in self.brands}
        unknown = [b for b in (self.digest.brands if self.digest else ()) if b not in ids]
        if unknown:
            raise ValueError(f"digest.brands: no brand {', '.join(map(repr, unknown))}")
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


def explicit(model: BaseModel) -> dict[str, Any]:
    """The keys a user wrote, nested models included (not the defaults)."""
    out: dict[str, Any] = {}
    for name in model.model_fields_set:
        value = getattr(model, name)
        out[name] = explicit(value) if isinstance(value, BaseModel) else value
    return out


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


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
        errors = [_error_line(name, e) for e in exc.errors()]
        raise ConfigError(errors) from None
    _check_author_key(name, settings.privacy, environ)
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


def _check_author_key(name: str, privacy: PrivacySettings, environ: Mapping[str, str]) -> None:
    # The pseudonym key is a secret: only ever from the environment, never from the YAML.
    from monitor.kernel.secrets import MissingSecret, read_secret

    if not privacy.pseudonymise_authors:
        return
    var = privacy.key_env
    try:
        key = read_secret(var, environ)
    except MissingSecret as exc:
        raise ConfigError([f"{name}: privacy.pseudonymise_authors: {exc}"]) from None
    if not key or len(key) < AUTHOR_KEY_MIN_CHARS:
        problem = "is not set" if not key else f"is shorter than {AUTHOR_KEY_MIN_CHARS} characters"
        raise ConfigError(
            [
                f"{name}: privacy.pseudonymise_authors: needs a key of at least "
                f"{AUTHOR_KEY_MIN_CHARS} characters in the environment variable {var} "
                f"(or {var}_FILE); {var} {problem}"
            ]
        )


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


def _error_line(name: str, error: Any) -> str:
    message = explain(error)
    if not error["loc"] and re.match(r"^[\w\[\]\.]+: ", message):
        return f"{name}: {message}"  # a cross-key check that names its own key path
    return f"{name}: {where(error['loc'])}: {message}"


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
