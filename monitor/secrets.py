"""Secrets come from the environment or from files it names, never from the YAML."""

from __future__ import annotations

import os
from pathlib import Path


class MissingSecret(ValueError):
    """A required secret is in neither the variable nor the file it names."""


def read_secret(var: str) -> str | None:
    """The value of `var`, or the content of the file `var_FILE` names; None if neither."""
    value = os.environ.get(var)
    if value:
        return value.strip()
    path = os.environ.get(f"{var}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise MissingSecret(f"{var}_FILE={path} cannot be read: {exc.strerror}") from exc
    return None


def require_secret(var: str, value: object) -> str:
    """Validator body for a secret field: refuse it inline, read it from the environment."""
    if value is not None:
        raise ValueError(f"secrets are not read from the config file: remove it and set {var}")
    secret = read_secret(var)
    if not secret:
        raise MissingSecret(f"missing secret: set {var} (or {var}_FILE)")
    return secret
