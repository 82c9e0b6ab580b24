"""Typed readers for settings that come from the environment (12-factor).

Each helper fails loudly on a value it cannot understand: a typo such as
DEBUG=yes must not silently turn into a different setting.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "on", "1"}
_FALSE = {"false", "off", "0", ""}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(
                f"The environment variable {name} is required but not set. "
                f"Set it in the environment or in .env (see .env.example)."
            )
        return default if default is not None else ""
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    normalised = value.strip().lower()
    if normalised in _TRUE:
        return True
    if normalised in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "a whole number")


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def _env_number(name: str, default, parse, kind: str):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return parse(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not {kind}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_base_url(name: str) -> str:
    """An `http(s)://host[:port]` base URL without a trailing slash, or "" when unset."""
    from urllib.parse import urlsplit

    value = env_str(name).strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a base URL: use http(s)://host[:port].")
    return value
