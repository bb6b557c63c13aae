"""What `/healthz` reports: one finding per check, and the verdict they add up to.

Healthy (200) while the process works and does its job; degraded (still 200) when part
of it is in trouble (one platform failing, a notifier backlog); unhealthy (503) when the
scheduler is not running, the database does not answer, every source has failed for
`service.sources_down_after_minutes`, or alerts cannot be delivered (a notifier refuses
them, or one has waited `service.alerts_late_after_minutes`). `pulso healthcheck` reads
only the status code, so the probe needs no database of its own.

A new check is one function returning a `Finding`; those that read the database go in
`DATABASE_CHECKS` and get one shared session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.runtime import Runtime
from monitor.storage.health import statuses
from monitor.storage.outbox import outbox_backlog
from monitor.storage.quarantine import quarantine_count
from monitor.storage.schema import SourceHealthRow

logger = logging.getLogger(__name__)

DATABASE_TIMEOUT = 3.0
# Source states that degrade the service; lasting long enough everywhere, they fail it.
SOURCE_TROUBLE = ("failing", "rate-limited")
LEVELS = ("ok", "degraded", "unhealthy")
Level = Literal["ok", "degraded", "unhealthy"]

Alive = Callable[[], bool]
LastActivity = Callable[[], datetime | None]


@dataclass(frozen=True, slots=True)
class Finding:
    """What one check found: its part of the details, its level, and why (one line each)."""

    name: str
    detail: Any
    level: Level = "ok"
    problems: tuple[str, ...] = ()


DatabaseCheck = Callable[[Runtime, Session, datetime], Finding]


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def ping_database(engine: Engine, timeout: float = DATABASE_TIMEOUT) -> str | None:
    """None if `SELECT 1` answers within `timeout` seconds, else what went wrong.

    The query runs on its own thread: a database host that drops packets must not hold
    the probe for the driver's connect timeout.
    """
    outcome: list[str | None] = []

    def ping() -> None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            outcome.append(None)
        except Exception as exc:  # any failure is the answer, not a crash of the probe
            cause = getattr(exc, "orig", None) or exc
            outcome.append(f"{type(cause).__name__}: {str(cause).splitlines()[0][:200]}")

    thread = threading.Thread(target=ping, name="pulso-db-ping", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else f"no answer within {timeout:g} s"


def health_report(
    rt: Runtime, alive: Alive, last_activity: LastActivity | None = None
) -> tuple[int, dict[str, Any]]:
    """The HTTP status and the detailed JSON body of `/healthz`."""
    findings = [scheduler_check(alive, last_activity)]
    error = ping_database(rt.engine)
    if error is None:
        findings.append(Finding("database", {"ok": True, "error": None}))
        findings.extend(_read_checks(rt))
    else:
        problem = f"the database does not answer: {error}"
        findings.append(Finding("database", {"ok": False, "error": error}, "unhealthy", (problem,)))
    level = max((f.level for f in findings), key=LEVELS.index)
    body = {
        "status": level,
        "time": iso(rt.clock()),
        "checks": {f.name: f.detail for f in findings},
        "problems": [problem for f in findings for problem in f.problems],
    }
    return (503 if level == "unhealthy" else 200), body


def public_body(code: int) -> dict[str, str]:
    """All a caller without the token learns: healthy or not."""
    return {"status": "ok" if code < 500 else "unhealthy"}


def scheduler_check(alive: Alive, last_activity: LastActivity | None) -> Finding:
    """Whether the process's loop (scheduler or worker) runs."""
    try:
        running = bool(alive())
    except Exception:
        logger.exception("healthz: the scheduler check failed")
        running = False
    detail = {"ok": running, "last_activity": iso(last_activity() if last_activity else None)}
    if running:
        return Finding("scheduler", detail)
    return Finding("scheduler", detail, "unhealthy", ("the scheduler is not running",))


def _read_checks(rt: Runtime) -> list[Finding]:
    now = rt.clock()
    try:
        with rt.sessions() as session:
            return [check(rt, session, now) for check in DATABASE_CHECKS]
    except SQLAlchemyError as exc:
        error = f"{type(exc).__name__} while reading the health tables"
        return [Finding("database", {"ok": False, "error": error}, "unhealthy", (error,))]


def sources_check(rt: Runtime, session: Session, now: datetime) -> Finding:
    """Each configured (brand, source); unhealthy once all have failed for the set time."""
    found = statuses(session, list(rt.sources), now)
    detail = [
        {
            "brand": s.brand,
            "source": s.source,
            "state": s.state,
            "last_success_at": iso(s.last_success_at),
            "consecutive_failures": s.consecutive_failures,
            "retry_at": iso(s.retry_at),
            "last_error": (s.last_error or "")[:200] or None,
        }
        for s in found
    ]
    troubled = [s for s in found if s.state in SOURCE_TROUBLE]
    if not troubled:
        return Finding("sources", detail)
    minutes = rt.settings.service.sources_down_after_minutes
    since = now - timedelta(minutes=minutes)
    down = [s for s in troubled if _failing_since(session, s.brand, s.source) <= since]
    if len(down) == len(found):
        problem = f"every source has failed for {minutes:g} min or more"
        return Finding("sources", detail, "unhealthy", (problem,))
    names = ", ".join(f"{s.brand}/{s.source}" for s in troubled)
    return Finding("sources", detail, "degraded", (f"failing: {names}",))


def _failing_since(session: Session, brand: str, source: str) -> datetime:
    row = session.get(SourceHealthRow, (brand, source))  # loaded already by statuses()
    since = (row.failing_since or row.last_attempt_at) if row is not None else None
    return since if since is not None else datetime.max.replace(tzinfo=UTC)


def notifiers_check(rt: Runtime, session: Session, now: datetime) -> Finding:
    """Each notifier's backlog; unhealthy when one refuses alerts or one waits too long."""
    late_after = rt.settings.service.alerts_late_after_minutes * 60
    detail, problems = [], []
    for name, rows in outbox_backlog(session, rt.outbox.notifiers).items():
        state = rt.outbox.health.get(name)
        refused = state[len("error: ") :] if state and state.startswith("error: ") else None
        age = round((now - rows.oldest).total_seconds(), 1) if rows.oldest else 0.0
        detail.append(
            {
                "notifier": name,
                "backlog": rows.count,
                "oldest_age_seconds": age,
                "last_permanent_error": refused,
            }
        )
        if refused:
            problems.append(f"{name} refuses alerts: {refused[:100]}")
        elif age >= late_after:
            problems.append(f"{name}: an alert has waited {age / 60:.0f} min")
    return Finding("notifiers", detail, "unhealthy" if problems else "ok", tuple(problems))


def quarantine_check(rt: Runtime, session: Session, now: datetime) -> Finding:
    """Mentions set aside (`pulso quarantine`): degraded while any wait there."""
    count = quarantine_count(session)
    if not count:
        return Finding("quarantine", {"count": 0})
    problem = f"{count} mention(s) set aside in the quarantine: see pulso quarantine"
    return Finding("quarantine", {"count": count}, "degraded", (problem,))


DATABASE_CHECKS: tuple[DatabaseCheck, ...] = (sources_check, notifiers_check, quarantine_check)
