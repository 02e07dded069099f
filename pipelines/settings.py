"""Configuration: one typed, validated model that reads environment variables and the optional config file.

The CLI, `dagster dev` and the tests all build their resources from `Settings.load()`, so a
knob means the same thing everywhere. Precedence: environment variable > config file > default.
Validation happens here, before any request is sent, so a typo fails fast with one clear line.

Each field declares its environment variable, help text and valid range once; `SETTINGS` (the
CLI epilog) is derived from it, and a test holds the README table to it. Plain pydantic rather
than pydantic-settings: the documented environment formats (comma-separated keys,
'Production=2500,Research=800' budgets) are not its JSON format, the config file must refuse
unknown keys and admin keys with our own messages, and the whole reader is `load` below.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, get_args

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo

from pipelines.transport import plain_http_refusal

BucketWidth = Literal["1m", "1h", "1d"]
BUCKET_WIDTHS: tuple[BucketWidth, ...] = get_args(BucketWidth)
DEFAULT_BUCKET_WIDTH: BucketWidth = "1h"
Source = Literal["auto", "analytics", "legacy"]
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
DEFAULT_CONFIG_FILE = "usage-pipeline.toml"
EARLIEST_START_DATE = date(2020, 1, 1)
MAX_STALE_AFTER_DAYS = 366


class ConfigError(ValueError):
    """A setting is missing or invalid; the message says which and how to fix it."""


def setting(default: Any, env: str, help: str, *, key: str | None = None, **field: Any) -> Any:
    """A field read from `env` (none: config file only) and from the config key `key` (default: the field's
    own name)."""
    return Field(default, description=help, json_schema_extra={"env": env, "key": key}, **field)


@dataclass(frozen=True)
class CostCenterEntry:
    """One `[[cost_centers]]` entry of the config file as written, validated with the CSV's rows by
    `pipelines.cost_centers`; `where` is the file and line of its header, for error messages."""

    where: str
    fields: tuple[tuple[str, object], ...]


class Settings(BaseModel):
    """Everything the pipeline needs to know about its environment. Keys are never printed or dumped."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    admin_keys: tuple[str, ...] = setting(
        (), "ANTHROPIC_ADMIN_KEY",
        "Admin API key (sk-ant-admin01-...). Several organizations: comma-separated keys. "
        "Environment only: never put keys in the config file.",
        key="admin_key", repr=False, exclude=True,
    )
    base_url: str = setting(DEFAULT_BASE_URL, "ANTHROPIC_BASE_URL", f"Admin API base URL (default {DEFAULT_BASE_URL}).")
    warehouse_path: str = setting(
        DEFAULT_WAREHOUSE_PATH, "WAREHOUSE_PATH", f"The DuckDB file the pipeline writes (default {DEFAULT_WAREHOUSE_PATH})."
    )
    serving_path: str = setting(  # "" = beside the warehouse, filled in by _prepare
        "", "USAGE_PIPELINE_SERVING_PATH",
        "The read-only copy analysts and BI tools open, republished after every successful run "
        "(default serving.duckdb beside the warehouse).",
    )
    parquet_dir: str = setting(
        "", "USAGE_PIPELINE_PARQUET_DIR",
        "Where the Parquet export of every table goes, a symlink switched at each publication "
        "(default parquet/ beside the warehouse).",
    )
    start_date: date = setting(
        date(2025, 1, 1), "USAGE_PIPELINE_START_DATE", "First UTC day of the daily partitions (default 2025-01-01)."
    )
    bucket_width: BucketWidth = setting(
        DEFAULT_BUCKET_WIDTH, "USAGE_PIPELINE_BUCKET_WIDTH",
        f"Messages usage bucket width: {', '.join(BUCKET_WIDTHS)} (default {DEFAULT_BUCKET_WIDTH}).",
    )
    source: Source = setting(
        "auto", "USAGE_PIPELINE_SOURCE",
        "Where usage and cost come from: auto (default) = the Usage and Cost Analytics API for every day it serves "
        "(from 2026-01-01, the last 365 days) and the legacy reports for older days or when the Analytics API "
        "answers 404/403/HIPAA 400; analytics or legacy = only that one.",
    )
    group_by_speed: bool = setting(
        False, "USAGE_PIPELINE_GROUP_BY_SPEED",
        "Also group messages usage by speed (sends the fast-mode beta header). Default false.",
    )
    lookback_days: int = setting(
        3, "USAGE_PIPELINE_LOOKBACK_DAYS",
        "Days before yesterday that the daily schedule re-pulls for usage and cost (default 3).", ge=0, le=366,
    )
    claude_code_lookback_days: int = setting(
        2, "USAGE_PIPELINE_CLAUDE_CODE_LOOKBACK_DAYS",
        "Days before yesterday that the daily schedule re-pulls for Claude Code (default 2).", ge=0, le=366,
    )
    requests_per_minute: float = setting(
        30.0, "USAGE_PIPELINE_REQUESTS_PER_MINUTE",
        "Client-side request budget per organization; 0 = unlimited (default 30, burst 20).",
        ge=0, allow_inf_nan=False,
    )
    request_burst: int = setting(
        20, "USAGE_PIPELINE_REQUEST_BURST", "Requests allowed back to back before the budget paces (default 20).",
        ge=1, le=10_000,
    )
    timeout_seconds: float = setting(
        60.0, "USAGE_PIPELINE_TIMEOUT_SECONDS", "Read timeout of one HTTP request in seconds (default 60).",
        gt=0, le=3600, allow_inf_nan=False,
    )
    request_deadline_seconds: float = setting(
        300.0, "USAGE_PIPELINE_REQUEST_DEADLINE_SECONDS",
        "Longest one HTTP request may take, connecting and the whole body included; a slower answer is cut, "
        "not retried (default 300).",
        gt=0, le=86_400, allow_inf_nan=False,
    )
    max_response_mb: int = setting(
        64, "USAGE_PIPELINE_MAX_RESPONSE_MB",
        "Largest response body, once decoded, in MiB; reading stops there with an error (default 64).", ge=1, le=4096,
    )
    pages_deadline_seconds: float = setting(
        1800.0, "USAGE_PIPELINE_PAGES_DEADLINE_SECONDS",
        "Longest all pages of one request window (or entity list) may take (default 1800).",
        gt=0, le=7 * 86_400, allow_inf_nan=False,
    )
    allow_insecure_http: bool = setting(
        False, "USAGE_PIPELINE_ALLOW_INSECURE_HTTP",
        "Allow a plain http:// base URL or alert webhook URL to a host that is not loopback (the key or the "
        "webhook's secret URL then crosses the network unencrypted). Default false.",
    )
    share_with_group: bool = setting(
        False, "USAGE_PIPELINE_SHARE_WITH_GROUP",
        "Create files and folders readable by the owner's group too (umask 027 instead of 077). Default false.",
    )
    budgets: tuple[tuple[str, Decimal], ...] = setting(  # (workspace name or ID, monthly USD)
        (), "USAGE_PIPELINE_BUDGETS",
        "Monthly budgets in USD by workspace name or ID, warned about when exceeded: a [budgets] table in the "
        "config file, or 'Production=2500,Research=800' in the environment. Default none.",
    )
    cost_centers_file: str = setting(
        "", "USAGE_PIPELINE_COST_CENTERS_FILE",
        "The reviewed CSV mapping people, service accounts, federated identities, API keys, products and workspaces "
        "to a team and cost center, effective-dated (see the README's Cost centers and chargeback); a path relative "
        "to the current directory. Default none: all cost is unmapped.",
    )
    cost_centers: tuple[CostCenterEntry, ...] = setting(
        (), "",
        "The same mapping inline: [[cost_centers]] entries in the config file with the CSV's columns as keys, "
        "used together with cost_centers_file. Config file only. Default none.",
    )
    stale_after_days: int = setting(
        2, "USAGE_PIPELINE_STALE_AFTER_DAYS",
        "A report's data is stale (its freshness check fails and the stale-data alert goes out) when its newest "
        "loaded UTC day is more than this many days before today (default 2).", ge=0, le=MAX_STALE_AFTER_DAYS,
    )
    stale_after_days_by_report: tuple[tuple[str, int], ...] = setting(  # (report name, days)
        (), "USAGE_PIPELINE_STALE_AFTER_DAYS_BY_REPORT",
        "USAGE_PIPELINE_STALE_AFTER_DAYS for some reports only: a [stale_after_days_by_report] table in the config "
        "file, or 'claude_code_usage=3,cost_report=1' in the environment. Default none.",
    )
    refresh_lag_hours: int = setting(
        24, "USAGE_PIPELINE_REFRESH_LAG_HOURS",
        "A report whose pages carry data_refreshed_at (the Analytics API's) is also stale when, at its most recent "
        "load, that watermark was more than this many hours old (default 24: the export refreshes about every "
        "4 h, up to 24 h for Enterprise organizations).", ge=0, le=MAX_STALE_AFTER_DAYS * 24,
    )
    alert_webhook_url: str = setting(
        "", "USAGE_PIPELINE_ALERT_WEBHOOK_URL",
        "Slack-compatible incoming webhook the alerts are posted to (JSON {\"text\": ...}); https://, or http:// "
        "to a loopback host. Environment only: never in the config file, never printed. Default none.",
        repr=False, exclude=True,
    )
    smtp_host: str = setting("", "USAGE_PIPELINE_SMTP_HOST", "SMTP server the alert emails go through (STARTTLS "
                             "required); needs USAGE_PIPELINE_SMTP_FROM and USAGE_PIPELINE_SMTP_TO. "
                             "Default none: no email.")
    smtp_port: int = setting(587, "USAGE_PIPELINE_SMTP_PORT", "SMTP port (default 587).", ge=1, le=65535)
    smtp_user: str = setting("", "USAGE_PIPELINE_SMTP_USER", "SMTP login; with USAGE_PIPELINE_SMTP_PASSWORD. "
                             "Default none: no login.")
    smtp_password: str = setting(
        "", "USAGE_PIPELINE_SMTP_PASSWORD", "SMTP password. Environment only: never in the config file, never printed.",
        repr=False, exclude=True,
    )
    smtp_from: str = setting("", "USAGE_PIPELINE_SMTP_FROM", "Sender address of the alert emails.")
    smtp_to: tuple[str, ...] = setting((), "USAGE_PIPELINE_SMTP_TO", "Recipients of the alert emails, comma-separated.")

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, config_file: str | Path | None = None) -> Settings:
        """Read the config file (if any), then the environment on top, then validate."""
        environ = dict(os.environ if environ is None else environ)
        path = Path(config_file or environ.get("USAGE_PIPELINE_CONFIG") or DEFAULT_CONFIG_FILE)
        raw: dict[str, object] = {}
        if path.is_file():
            raw.update(_read_config_file(path))
        elif config_file or environ.get("USAGE_PIPELINE_CONFIG"):
            raise ConfigError(f"config file {path} does not exist (set by USAGE_PIPELINE_CONFIG or --config)")
        for name, known in SETTINGS.items():
            if known.env and environ.get(known.env, "").strip() != "":
                raw[name] = environ[known.env]
        return cls.from_mapping(raw)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> Settings:
        """Parse and validate loosely typed values (strings from the environment, TOML values)."""
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            raise _config_error(exc, raw) from None

    def require_keys(self) -> tuple[str, ...]:
        """The admin keys, or a ConfigError telling the user how to provide one."""
        if not self.admin_keys:
            raise ConfigError(
                "No Admin API key: set ANTHROPIC_ADMIN_KEY to an Admin key (sk-ant-admin01-..., "
                "Console > Settings > Admin keys), or run `usage-pipeline demo` to try the built-in simulator."
            )
        return self.admin_keys

    # Validators' messages finish the sentence "ENV_VAR='value' ..." that _config_error starts.

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, raw: Any) -> Any:
        """Trim text values; put the serving copy and the Parquet export beside the warehouse unless set."""
        if not isinstance(raw, dict):
            return raw
        values = {name: value.strip() if isinstance(value, str) else value for name, value in raw.items()}
        beside = Path(str(values.get("warehouse_path", DEFAULT_WAREHOUSE_PATH))).parent
        values["serving_path"] = values.get("serving_path") or str(beside / "serving.duckdb")
        values["parquet_dir"] = values.get("parquet_dir") or str(beside / "parquet")
        return values

    @field_validator("admin_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> tuple[str, ...]:
        keys = value.split(",") if isinstance(value, str) else value
        return tuple(str(key).strip() for key in keys if str(key).strip())

    @field_validator("base_url", mode="before")
    @classmethod
    def _http_without_credentials(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "@" in value:
            raise ValueError("must not contain credentials (user:password@); the admin key authenticates")
        return value.rstrip("/")

    @field_validator("start_date")
    @classmethod
    def _not_future_nor_ancient(cls, day: date) -> date:
        today = datetime.now(UTC).date()
        if not EARLIEST_START_DATE <= day <= today:
            raise ValueError(f"must be a day from {EARLIEST_START_DATE} to today ({today})")
        return day

    @field_validator("bucket_width", mode="before")
    @classmethod
    def _known_bucket_width(cls, value: Any) -> Any:
        if value not in BUCKET_WIDTHS:
            raise ValueError(f"is not a bucket width; use one of {', '.join(BUCKET_WIDTHS)}")
        return value

    @field_validator("smtp_to", mode="before")
    @classmethod
    def _split_addresses(cls, value: Any) -> tuple[str, ...]:
        addresses = value.split(",") if isinstance(value, str) else value
        return tuple(str(address).strip() for address in addresses if str(address).strip())

    @field_validator("cost_centers", mode="before")
    @classmethod
    def _cost_center_entries(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple) or not all(isinstance(e, CostCenterEntry | dict) for e in value):
            raise ValueError("is invalid: write each mapping row as a [[cost_centers]] table (double brackets), "
                             "or name a CSV with cost_centers_file")
        return tuple(entry if isinstance(entry, CostCenterEntry)
                     else CostCenterEntry(f"cost_centers[{index}]", tuple(entry.items()))
                     for index, entry in enumerate(value))

    @field_validator("budgets", mode="before")
    @classmethod
    def _budgets(cls, value: Any) -> tuple[tuple[str, Decimal], ...]:
        return _parse_budgets(value)

    @field_validator("stale_after_days_by_report", mode="before")
    @classmethod
    def _stale_after_days_by_report(cls, value: Any) -> tuple[tuple[str, int], ...]:
        return _parse_stale_after_days(value)

    @model_validator(mode="after")
    def _smtp_complete(self) -> Settings:
        """A host without a sender or recipients would send no email, and nobody would know why."""
        missing = [SETTINGS[name].env for name in ("smtp_from", "smtp_to") if not getattr(self, name)]
        if self.smtp_host and missing:
            raise ValueError(f"USAGE_PIPELINE_SMTP_HOST is set but not {' nor '.join(missing)}: set "
                             f"{'it' if len(missing) == 1 else 'them'} too, or unset USAGE_PIPELINE_SMTP_HOST for no "
                             "alert email")
        return self

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook_over_tls(cls, value: str, info: ValidationInfo) -> str:
        """The URL is a secret: refused before any work when it would cross the network in plain text."""
        if not value:
            return value
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL:
            raise ValueError("is not a valid URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an https:// URL with a host")
        if refusal := plain_http_refusal(url, "the webhook's secret URL",
                                         allow_insecure_http=info.data.get("allow_insecure_http", False)):
            raise ValueError(refusal)
        return value


@dataclass(frozen=True)
class Setting:
    """How one knob is named in the environment and in the config file, and what it means."""

    env: str
    key: str
    help: str


def _as_setting(name: str, info: FieldInfo) -> Setting:
    names: Any = info.json_schema_extra  # the dict setting() put there
    return Setting(names["env"], names["key"] or name, str(info.description))


# Every knob as the CLI epilog and the README list it, read off the model.
SETTINGS: dict[str, Setting] = {name: _as_setting(name, info) for name, info in Settings.model_fields.items()}
# Secrets besides the admin keys: read from the environment only, never shown.
ENVIRONMENT_ONLY = {"alert_webhook_url", "smtp_password"}
# Settings that only the config file can hold (no environment variable).
CONFIG_FILE_ONLY = {name for name, known in SETTINGS.items() if not known.env}
_COMPARISONS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _config_error(exc: ValidationError, raw: Mapping[str, object]) -> ConfigError:
    """The first problem in one line naming the variable; never a key, nor a value that may hold a password."""
    error = exc.errors()[0]
    if not error["loc"] and error["type"] == "value_error":  # a check across settings: its message names them
        return ConfigError(str(error["ctx"]["error"]))
    name = str(error["loc"][0]) if error["loc"] else ""
    if name not in SETTINGS:
        return ConfigError(f"unknown setting {name!r}; known: {', '.join(SETTINGS)}")
    text = str(raw.get(name, "")).strip()
    info = Settings.model_fields[name]
    shown = "<redacted>" if not info.repr or "@" in text else repr(text)
    if error["type"] == "value_error":
        problem = str(error["ctx"]["error"])
    elif info.annotation in (int, float):
        problem = _number_range(info)
    else:
        problem = f"is invalid: {error['msg'][:1].lower()}{error['msg'][1:]}"
    return ConfigError(f"{SETTINGS[name].env or SETTINGS[name].key}={shown} {problem}")


def _number_range(info: FieldInfo) -> str:
    """'must be a whole number >= 1 and <= 10000', read off the field's own constraints."""
    kind = "a whole number" if info.annotation is int else "a finite number"
    limits = [
        f"{sign} {getattr(constraint, bound)}"
        for constraint in info.metadata
        for bound, sign in _COMPARISONS.items()
        if hasattr(constraint, bound)
    ]
    return f"must be {kind} {' and '.join(limits)}"


def _read_config_file(path: Path) -> dict[str, object]:
    try:
        text = path.read_text()
        document = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    by_key = {known.key: name for name, known in SETTINGS.items()}
    unknown = sorted(set(document) - set(by_key))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(by_key))}")
    if "admin_key" in document:
        raise ConfigError(f"{path}: admin keys belong in the ANTHROPIC_ADMIN_KEY environment variable, not in a file")
    for key in sorted(set(document) & ENVIRONMENT_ONLY):
        raise ConfigError(f"{path}: {key} is a secret; set {SETTINGS[key].env} in the environment, not in a file")
    if isinstance(document.get("cost_centers"), list):
        document["cost_centers"] = _located_entries(path, text, document["cost_centers"])
    return {by_key[key]: value for key, value in document.items()}


_COST_CENTERS_HEADER = re.compile(r'^[ \t]*\[\[[ \t]*"?cost_centers"?[ \t]*\]\]', re.MULTILINE)


def _located_entries(path: Path, text: str, entries: list) -> list[CostCenterEntry]:
    """The [[cost_centers]] entries, each with the line of its header (tomllib has no line numbers:
    the n-th entry is the n-th header line)."""
    lines = [text.count("\n", 0, match.start()) + 1 for match in _COST_CENTERS_HEADER.finditer(text)]
    if len(lines) != len(entries) or not all(isinstance(entry, dict) for entry in entries):
        raise ConfigError(f"{path}: write each cost-center mapping row as its own [[cost_centers]] table")
    return [CostCenterEntry(f"{path}:{line}", tuple(entry.items())) for line, entry in zip(lines, entries)]


def _pairs(value: object, expected: str) -> list[tuple[str, str]]:
    """A TOML table {name: value} or the text 'name=value,...', as trimmed text pairs."""
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        pairs = [item.split("=", 1) for item in str(value).split(",") if item.strip()]
    for pair in pairs:
        if len(pair) != 2 or not str(pair[0]).strip():
            raise ValueError(f"is invalid: expected {expected}, got {'='.join(map(str, pair))!r}")
    return [(str(name).strip(), str(text).strip()) for name, text in pairs]


def _parse_budgets(value: object) -> tuple[tuple[str, Decimal], ...]:
    """A TOML table {workspace: amount} or the text 'workspace=amount,...'; amounts exact, >= 0."""
    budgets = []
    for workspace, amount in _pairs(value, "workspace=amount"):
        try:
            budget = Decimal(amount)
        except InvalidOperation:
            raise ValueError(f"is invalid: budget of {workspace!r} is not a number: {amount!r}") from None
        if not budget.is_finite() or budget < 0:
            raise ValueError(f"is invalid: budget of {workspace!r} must be a non-negative amount in USD")
        budgets.append((workspace, budget))
    return tuple(budgets)


def _parse_stale_after_days(value: object) -> tuple[tuple[str, int], ...]:
    """A TOML table {report: days} or the text 'report=days,...'; only the registry's report names."""
    from pipelines.reports import REPORT_NAMES  # not at the top: the registry imports this module

    thresholds = []
    for report, days in _pairs(value, "report=days"):
        if not re.fullmatch(r"[0-9]+", days) or int(days) > MAX_STALE_AFTER_DAYS:
            raise ValueError(f"is invalid: days of {report!r} must be a whole number >= 0 and <= {MAX_STALE_AFTER_DAYS}")
        thresholds.append((report, int(days)))
    if unknown := sorted({report for report, _ in thresholds} - set(REPORT_NAMES)):
        raise ValueError(f"names unknown report(s) {', '.join(unknown)}; choose from {', '.join(REPORT_NAMES)}")
    return tuple(thresholds)
