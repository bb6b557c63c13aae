"""The sections of the configuration that stand on their own: sentiment, detector (and
its rules), silences, digest, retention, privacy, service and worker.

`monitor.settings` composes them with the brands and the plug-ins' sections into
`Settings`, and re-exports every name here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.kernel.secrets import environment, secret_field
from notifiers import MailSettings


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


# A subclass that gives a field its own default redeclares it, losing the base's bounds:
# these types carry them, so each bound is written once.
Count = Annotated[int, Field(ge=1)]
Excess = Annotated[int, Field(ge=0)]
ZScore = Annotated[float, Field(gt=0)]


Budget = Annotated[float, Field(gt=0, le=100)]


class RuleSettings(Frozen):
    """Thresholds of one spike rule; every condition must hold for it to fire.

    With `z_warning` unset the rule's thresholds are calibrated on the brand's own history
    to the alert budget; setting it fixes them (and `z_critical`, default twice as high).
    """

    enabled: bool = True
    min_count: Count = Field(description="counted mentions in the window, at least")
    min_excess: Excess = Field(description="mentions above the usual, at least")
    z_warning: ZScore | None = Field(description="fixed robust z for a warning (no budget)")
    z_critical: ZScore | None = Field(
        default=None, description="... and for a critical alert (default: twice z_warning)"
    )
    cold_start_min_count: Count = Field(description="under cold_start_days of history")
    alert_budget: Budget | None = Field(
        default=None, description="this rule's alerts per week (default: the detector's)"
    )

    @model_validator(mode="after")
    def _levels(self) -> RuleSettings:
        if self.z_critical is not None and self.z_warning is None:
            raise ValueError("z_critical needs z_warning (without it, thresholds are calibrated)")
        if self.z_critical is not None and self.z_warning and self.z_critical < self.z_warning:
            raise ValueError("z_critical must be at least z_warning")
        return self

    @property
    def calibrated(self) -> bool:
        """Whether thresholds come from the alert budget (no fixed z given)."""
        return self.z_warning is None

    def z_levels(self) -> tuple[float, float]:
        """The fixed (warning, critical) z; infinite when calibrated."""
        if self.z_warning is None:
            return float("inf"), float("inf")
        return self.z_warning, self.z_critical or 2 * self.z_warning


class NegativeRuleSettings(RuleSettings):
    """`negative_spike`: a burst of negative mentions with an unusually negative share."""

    min_count: Count = 5
    min_excess: Excess = 4
    z_warning: ZScore | None = None
    cold_start_min_count: Count = 25
    share_z: float = Field(
        default=3.0, ge=0, description="with a fixed z_warning: binomial z of the share"
    )
    share_margin: float = Field(default=0.05, ge=0, le=1, description="share points above usual")


class VolumeRuleSettings(RuleSettings):
    """`volume_spike`: far more mentions than usual, whatever their sentiment."""

    min_count: Count = 20
    min_excess: Excess = 10
    z_warning: ZScore | None = None
    cold_start_min_count: Count = 100


class DetectorSettings(Frozen):
    """How counts are bucketed and judged (a brand may override any key)."""

    bucket_minutes: int = Field(default=5, ge=1, le=60)
    alert_budget: Budget = Field(
        default=0.5,
        description="unexpected alerts per rule and week that a brand's ordinary weeks may "
        "bring; thresholds are calibrated on the brand's own history to stay within it",
    )
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

    def budget(self, name: str) -> float:
        """Rule `name`'s alert budget: its own, or the detector's."""
        return self.rule(name).alert_budget or self.alert_budget

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


# The pseudonym key's least length: checked when the config loads, and again at use.
AUTHOR_KEY_MIN_CHARS = 16


class PrivacySettings(Frozen):
    """Author pseudonymisation: store a keyed hash instead of the handle."""

    pseudonymise_authors: bool = False
    key_env: str = Field(
        default="PULSO_AUTHOR_KEY", description="environment variable holding the hash key"
    )


SERVICE_HOST_VAR = "PULSO_SERVICE_HOST"
HEALTH_TOKEN_VAR = "PULSO_HEALTH_TOKEN"


class ServiceSettings(Frozen):
    """The long-running process: its HTTP endpoint (/healthz, /metrics), when it counts as
    unhealthy, and shutdown."""

    http_enabled: bool = True
    host: str = Field(
        default="127.0.0.1",
        validate_default=True,
        description=f"this machine only; {SERVICE_HOST_VAR} overrides it (0.0.0.0 in the image)",
    )
    port: int = Field(default=8321, ge=0, le=65535)
    client_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="a client must send its request within this"
    )
    health_token: SecretStr | None = Field(default=None, validate_default=True)
    metrics_need_token: bool = Field(
        default=False, description="/metrics (brand ids in labels) only with the health token"
    )
    sources_down_after_minutes: float = Field(
        default=30.0, gt=0, description="unhealthy once every source has failed this long"
    )
    alerts_late_after_minutes: float = Field(
        default=60.0, gt=0, description="unhealthy once an alert has waited this long"
    )
    shutdown_grace_seconds: float = Field(default=30.0, gt=0)

    @field_validator("host", mode="before")
    @classmethod
    def _host_from_environment(cls, value: object, info: ValidationInfo) -> object:
        return environment(info.context).get(SERVICE_HOST_VAR) or value

    # Who holds it sees brand ids and upstream errors in /healthz: never in the YAML.
    _health_token = secret_field("health_token", var=HEALTH_TOKEN_VAR, required=False)


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
