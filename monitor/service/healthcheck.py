"""`pulso healthcheck`: ask a running daemon's `/healthz`; exit 0 if it answers 200.

Meant for a container HEALTHCHECK every few seconds, so it stays light: standard
library HTTP, no models, no database. It only reads the config for the port.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

DEFAULT_TIMEOUT = 5.0
WILDCARDS = ("", "0.0.0.0", "::")


def healthz_url(host: str, port: int) -> str:
    """The `/healthz` URL of a daemon listening on `host:port`, as seen from this machine."""
    if host in WILDCARDS:
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"


def probe(url: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[bool, str]:
    """GET `url`: whether it answered 200, and one line saying what came back."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, f"{url}: {_summary(response.status, response.read())}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: {_summary(exc.code, exc.read())}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{url}: no answer ({reason})"


def _summary(code: int, payload: bytes) -> str:
    try:
        status = json.loads(payload).get("status", "?")
    except (ValueError, AttributeError):
        status = "?"
    return f"HTTP {code} {status}"


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
    healthy, line = probe(url, timeout)
    sys.stdout.write(("healthy: " if healthy else "unhealthy: ") + line + "\n")
    return 0 if healthy else 1
