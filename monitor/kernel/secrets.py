"""Secrets come from the environment or from files it names, never from the YAML."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class MissingSecret(ValueError):
    """A required secret is in neither the variable nor the file it names."""


def environment(context: Any) -> Mapping[str, str]:
    """The environment a validation runs against (its context's, else the process's)."""
    if isinstance(context, dict) and isinstance(context.get("environ"), Mapping):
        return context["environ"]  # type: ignore[no-any-return]
    return os.environ


def read_secret(var: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of `var`, or the content of the file `var_FILE` names; None if neither."""
    environ = os.environ if environ is None else environ
    value = environ.get(var)
    if value:
        return value.strip()
    path = environ.get(f"{var}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise MissingSecret(f"{var}_FILE={path} cannot be read: {exc.strerror}") from exc
    return None


def require_secret(var: str, value: object, environ: Mapping[str, str] | None = None) -> str:
    """Validator body for a secret field: refuse it inline, read it from the environment."""
    if value is not None:
        raise ValueError(f"secrets are not read from the config file: remove it and set {var}")
    secret = read_secret(var, environ)
    if not secret:
        raise MissingSecret(f"missing secret: set {var} (or {var}_FILE)")
    return secret
