"""Secrets come from the environment or from files it names, never from the YAML.

Every secret value read here is registered with `monitor.kernel.redact`, so that logs,
errors and stored errors mask it wherever it turns up (a third-party DEBUG log, an
upstream answer that echoes the request). URLs and other plain settings read through
`from_environment` are not secrets and are not registered.

The `*_field` factories are the pydantic validators the source and notifier settings
share: for secret fields, and for the URLs of the APIs they call (which the environment
may point elsewhere: a proxy, or a test's fake).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationInfo, field_validator

from monitor.kernel.redact import register_secret


class MissingSecret(ValueError):
    """A required secret is in neither the variable nor the file it names."""


def environment(context: Any) -> Mapping[str, str]:
    """The environment a validation runs against (its context's, else the process's)."""
    if isinstance(context, dict) and isinstance(context.get("environ"), Mapping):
        return context["environ"]  # type: ignore[no-any-return]
    return os.environ


def secret_is_set(var: str, environ: Mapping[str, str]) -> bool:
    """Whether `var` or `var_FILE` is set (without reading the file)."""
    return bool(environ.get(var) or environ.get(f"{var}_FILE"))


def read_secret(var: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret in `var`, or in the file `var_FILE` names (None if neither); registered
    for redaction as it is read."""
    secret = _read_setting(var, os.environ if environ is None else environ)
    register_secret(secret)
    return secret


def _read_setting(var: str, environ: Mapping[str, str]) -> str | None:
    """The value of `var`, or the content of the file `var_FILE` names; None if neither."""
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


def optional_secret(
    var: str, value: object, environ: Mapping[str, str] | None = None
) -> str | None:
    """Validator body for a secret a setup may go without: refuse it inline, read it if set."""
    if value is not None:
        raise ValueError(f"secrets are not read from the config file: set {var}")
    return read_secret(var, environ)


def from_environment(var: str, value: object, info: ValidationInfo) -> object:
    """`var` (or `var_FILE`) when the environment sets it, else the field's own value."""
    return _read_setting(var, environment(info.context)) or value


def secret_field(
    field: str, *, var: str, required: bool = True, blank_is_unset: bool = False
) -> Callable[[object, ValidationInfo], str | None]:
    """The `before` validator of a secret field: never from the YAML, read from `var`.

    `required=False` lets the setting go without it (None). `blank_is_unset` treats an
    empty value as unwritten, for a `str` field whose default is "" rather than None.
    """
    body = require_secret if required else optional_secret

    def validate(value: object, info: ValidationInfo) -> str | None:
        return body(var, (value or None) if blank_is_unset else value, environment(info.context))

    return field_validator(field, mode="before")(validate)


def http_url(value: object, example: str | None = None) -> str:
    """`value` if it is an http(s) URL, else a ValueError that may show an `example`."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL" + (f" such as {example}" if example else ""))
    return value


def url_field(*fields: str, example: str | None = None) -> Callable[[str], str]:
    """The validator of URL fields written in the YAML: http(s), no trailing slash."""

    def validate(url: str) -> str:
        return http_url(url, example).rstrip("/")

    return field_validator(*fields)(validate)


def api_url_field(
    field: str, *, var: str, default: str, trailing_slash: bool = False
) -> Callable[[object, ValidationInfo], str]:
    """The `before` validator of an API's base URL: `var` if set, else the field, else
    `default`; http(s), and ending in a slash only where the client wants one."""

    def validate(value: object, info: ValidationInfo) -> str:
        url = http_url(from_environment(var, value, info) or default, default)
        if trailing_slash:
            return url if url.endswith("/") else url + "/"
        return url.rstrip("/")

    return field_validator(field, mode="before")(validate)
