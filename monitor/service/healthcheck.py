"""`pulso healthcheck`: ask a running daemon's `/healthz`; exit 0 if it answers 200.

Meant for a container HEALTHCHECK every few seconds, so it stays light: standard
library HTTP, no models, no database. It only reads the config for the port. The
daemon decides (see `monitor.service.health`): unhealthy when its loop or database is
down, every source has failed for a while, or alerts cannot be delivered. With
PULSO_HEALTH_TOKEN in its environment the probe also prints why.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

DEFAULT_TIMEOUT = 5.0
WILDCARDS = ("", "0.0.0.0", "::")
TOKEN_VAR = "PULSO_HEALTH_TOKEN"


def healthz_url(host: str, port: int) -> str:
    """The `/healthz` URL of a daemon listening on `host:port`, as seen from this machine."""
    if host in WILDCARDS:
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"


def probe(url: str, timeout: float = DEFAULT_TIMEOUT, token: str | None = None) -> tuple[bool, str]:
    """GET `url` (with the health token if given): whether it answered 200, and one line
    saying what came back."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200, f"{url}: {_summary(response.status, response.read())}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: {_summary(exc.code, exc.read())}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{url}: no answer ({reason})"


def _summary(code: int, payload: bytes) -> str:
    """`HTTP 503 unhealthy`, and the reasons when the answer gives them (token holders)."""
    try:
        body = json.loads(payload)
        status, problems = body.get("status", "?"), body.get("problems") or []
    except (ValueError, AttributeError):
        status, problems = "?", []
    reasons = "; ".join(" ".join(str(p).split()) for p in problems)
    return f"HTTP {code} {status}" + (f" ({reasons[:300]})" if reasons else "")


def _token() -> str | None:
    """The health token from the environment (or the file PULSO_HEALTH_TOKEN_FILE names)."""
    path = os.environ.get(f"{TOKEN_VAR}_FILE")
    if os.environ.get(TOKEN_VAR) or not path:
        return os.environ.get(TOKEN_VAR, "").strip() or None
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip() or None
    except OSError:
        return None  # the details are a courtesy; the status code is the answer


def run_healthcheck(config: str, url: str | None, timeout: float) -> int:
    """Print one line; exit 0 when the daemon answers 200 (ok or degraded), else 1."""
    if url is None:
        from monitor.settings import ConfigError, load_settings

        try:
            service = load_settings(config).service
        except ConfigError as exc:
            first = exc.errors[0] if exc.errors else f"{config}: invalid"
            sys.stdout.write(f"unhealthy: cannot tell the port: {first}\n")
            return 1
        url = healthz_url(service.host, service.port)
    healthy, line = probe(url, timeout, _token())
    sys.stdout.write(("healthy: " if healthy else "unhealthy: ") + line + "\n")
    return 0 if healthy else 1
