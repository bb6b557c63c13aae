"""Configuration: one YAML file, validated once into frozen settings.

Errors name the file and the key path (`pulso.yaml: brands[0].keywords: ...`). The
sections that stand on their own are in `monitor.settings.sections`; this module composes
them with the brands and the plug-ins' own settings, and reads the file.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model, model_validator

from monitor.kernel.secrets import MissingSecret, read_secret, secret_is_set
from monitor.settings.sections import (
    AUTHOR_KEY_MIN_CHARS,
    RULES,
    DetectorSettings,
    DigestSettings,
    Frozen,
    NegativeRuleSettings,
    PrivacySettings,
    RetentionSettings,
    RuleName,
    RuleSettings,
    SentimentSettings,
    ServiceSettings,
    Silence,
    VolumeRuleSettings,
    WorkerSettings,
)
from notifiers import NOTIFIERS, NotifierSettings
from sources import SOURCES, SourceSettings

__all__ = [
    "AUTHOR_KEY_MIN_CHARS",
    "RULES",
    "BrandSettings",
    "ConfigError",
    "DetectorSettings",
    "DigestSettings",
    "Frozen",
    "NegativeRuleSettings",
    "PrivacySettings",
    "RetentionSettings",
    "RuleName",
    "RuleSettings",
    "SentimentSettings",
    "ServiceSettings",
    "Settings",
    "Silence",
    "VolumeRuleSettings",
    "WorkerSettings",
    "explain",
    "explicit",
    "load_settings",
    "where",
]

DATABASE_URL_VAR = "PULSO_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///./data/pulso.db"


class ConfigError(Exception):
    """The configuration is unusable; `errors` holds one `FILE: key.path: message` each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


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
    # Validated even when absent: the environment may set its host and token.
    service: ServiceSettings = Field(default_factory=dict, validate_default=True)
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader that refuses a key given twice in one mapping (plain YAML keeps
    the last one silently, so a setting written twice would quietly lose its first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                line = first.setdefault(key, key_node.start_mark.line)
            except TypeError:  # an unhashable key: the base constructor says why
                continue
            if line != key_node.start_mark.line:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} is given twice (first on line {line + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the file: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        byte = exc.object[exc.start]
        raise ConfigError(
            [f"{path}: line {line}: not UTF-8 text (byte 0x{byte:02x}); save it as UTF-8"]
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader
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
    has_token = secret_is_set("PULSO_SLACK_BOT_TOKEN", environ)
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
