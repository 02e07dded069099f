"""Settings the settings model (`pipelines/settings.py`) does not declare yet, read the same way:
environment variable, default, valid range.

Each is read through `pending_setting`, which takes the model's field as soon as the model has one;
once the model declares them all, this module goes (and `request_limits` moves beside the client's
construction in `pipelines/defs/resources.py`).
"""

from __future__ import annotations

import math
import os

from pipelines.api import RequestLimits
from pipelines.settings import ConfigError, Settings

# name -> (environment variable, default, upper bound of a number, which must also be > 0)
PENDING_SETTINGS: dict[str, tuple[str, object, float | None]] = {
    "request_deadline_seconds": ("USAGE_PIPELINE_REQUEST_DEADLINE_SECONDS", 300.0, 86_400),
    "max_response_mb": ("USAGE_PIPELINE_MAX_RESPONSE_MB", 64, 4096),
    "pages_deadline_seconds": ("USAGE_PIPELINE_PAGES_DEADLINE_SECONDS", 1800.0, 7 * 86_400),
    "allow_insecure_http": ("USAGE_PIPELINE_ALLOW_INSECURE_HTTP", False, None),
    "share_with_group": ("USAGE_PIPELINE_SHARE_WITH_GROUP", False, None),
}


def pending_setting(settings: Settings, name: str):
    """The setting's value: the model's field if it has one, else its environment variable, else the default."""
    if hasattr(settings, name):
        return getattr(settings, name)
    env, default, upper = PENDING_SETTINGS[name]
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    if isinstance(default, bool):
        if text.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ConfigError(f"{env}={text!r} is invalid: expected true or false")
        return text.lower() in ("1", "true", "yes", "on")
    try:
        value = type(default)(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= upper):
        kind = "a whole number" if isinstance(default, int) else "a finite number"
        raise ConfigError(f"{env}={text!r} must be {kind} > 0 and <= {upper:g}")
    return value


def request_limits(settings: Settings) -> RequestLimits:
    """How long and how big the Admin API client's requests may be."""
    return RequestLimits(
        deadline_seconds=pending_setting(settings, "request_deadline_seconds"),
        max_response_bytes=pending_setting(settings, "max_response_mb") * 2**20,
        pages_deadline_seconds=pending_setting(settings, "pages_deadline_seconds"),
    )
