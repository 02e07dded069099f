"""Configuration: one place that reads environment variables and the optional config file.

The CLI, `dagster dev` and the tests all build their resources from `Settings.load()`, so a
knob means the same thing everywhere. Precedence: environment variable > config file > default.
Validation happens here, before any request is sent, so a typo fails fast with a clear message.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
DEFAULT_CONFIG_FILE = "usage-pipeline.toml"
BUCKET_WIDTHS = ("1m", "1h", "1d")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message says which and how to fix it."""


@dataclass(frozen=True)
class Setting:
    """How one knob is named in the environment and in the config file, and what it means."""

    env: str
    key: str
    help: str


# Every knob, documented once; the README table is generated from the same text.
SETTINGS: dict[str, Setting] = {
    "admin_keys": Setting(
        "ANTHROPIC_ADMIN_KEY", "admin_key",
        "Admin API key (sk-ant-admin01-...). Several organizations: comma-separated keys. "
        "Environment only: never put keys in the config file.",
    ),
    "base_url": Setting("ANTHROPIC_BASE_URL", "base_url", f"Admin API base URL (default {DEFAULT_BASE_URL})."),
    "warehouse_path": Setting(
        "WAREHOUSE_PATH", "warehouse_path", f"The DuckDB file the pipeline writes (default {DEFAULT_WAREHOUSE_PATH})."
    ),
    "serving_path": Setting(
        "USAGE_PIPELINE_SERVING_PATH", "serving_path",
        "The read-only copy analysts and BI tools open, republished after every successful run "
        "(default serving.duckdb beside the warehouse).",
    ),
    "parquet_dir": Setting(
        "USAGE_PIPELINE_PARQUET_DIR", "parquet_dir",
        "Where the Parquet export of every table goes, a symlink switched at each publication "
        "(default parquet/ beside the warehouse).",
    ),
    "start_date": Setting(
        "USAGE_PIPELINE_START_DATE", "start_date", "First UTC day of the daily partitions (default 2025-01-01)."
    ),
    "bucket_width": Setting(
        "USAGE_PIPELINE_BUCKET_WIDTH", "bucket_width", "Messages usage bucket width: 1m, 1h or 1d (default 1h)."
    ),
    "group_by_speed": Setting(
        "USAGE_PIPELINE_GROUP_BY_SPEED", "group_by_speed",
        "Also group messages usage by speed (sends the fast-mode beta header). Default false.",
    ),
    "lookback_days": Setting(
        "USAGE_PIPELINE_LOOKBACK_DAYS", "lookback_days",
        "Days before yesterday that the daily schedule re-pulls for usage and cost (default 3).",
    ),
    "claude_code_lookback_days": Setting(
        "USAGE_PIPELINE_CLAUDE_CODE_LOOKBACK_DAYS", "claude_code_lookback_days",
        "Days before yesterday that the daily schedule re-pulls for Claude Code (default 2).",
    ),
    "requests_per_minute": Setting(
        "USAGE_PIPELINE_REQUESTS_PER_MINUTE", "requests_per_minute",
        "Client-side request budget per organization; 0 = unlimited (default 30, burst 20).",
    ),
    "request_burst": Setting(
        "USAGE_PIPELINE_REQUEST_BURST", "request_burst", "Requests allowed back to back before the budget paces (default 20)."
    ),
    "timeout_seconds": Setting(
        "USAGE_PIPELINE_TIMEOUT_SECONDS", "timeout_seconds", "Read timeout of one HTTP request in seconds (default 60)."
    ),
    "budgets": Setting(
        "USAGE_PIPELINE_BUDGETS", "budgets",
        "Monthly budgets in USD by workspace name or ID, warned about when exceeded: a [budgets] table in the "
        "config file, or 'Production=2500,Research=800' in the environment. Default none.",
    ),
}


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline needs to know about its environment. Keys are never printed."""

    admin_keys: tuple[str, ...] = field(default=(), repr=False)
    base_url: str = DEFAULT_BASE_URL
    warehouse_path: str = DEFAULT_WAREHOUSE_PATH
    serving_path: str = ""  # "" = serving.duckdb beside the warehouse (filled in by from_mapping)
    parquet_dir: str = ""  # "" = parquet/ beside the warehouse
    start_date: date = date(2025, 1, 1)
    bucket_width: str = "1h"
    group_by_speed: bool = False
    lookback_days: int = 3
    claude_code_lookback_days: int = 2
    requests_per_minute: float = 30.0
    request_burst: int = 20
    timeout_seconds: float = 60.0
    budgets: tuple[tuple[str, Decimal], ...] = ()  # (workspace name or ID, monthly USD)

    @classmethod
    def load(cls, environ: dict[str, str] | None = None, config_file: str | Path | None = None) -> Settings:
        """Read the config file (if any), then the environment on top, then validate."""
        environ = dict(os.environ if environ is None else environ)
        path = Path(config_file or environ.get("USAGE_PIPELINE_CONFIG") or DEFAULT_CONFIG_FILE)
        raw: dict[str, object] = {}
        if path.is_file():
            raw.update(_read_config_file(path))
        elif config_file or environ.get("USAGE_PIPELINE_CONFIG"):
            raise ConfigError(f"config file {path} does not exist (set by USAGE_PIPELINE_CONFIG or --config)")
        for name, setting in SETTINGS.items():
            if setting.env in environ and environ[setting.env].strip() != "":
                raw[name] = environ[setting.env]
        return cls.from_mapping(raw)

    @classmethod
    def from_mapping(cls, raw: dict[str, object]) -> Settings:
        """Parse and validate loosely typed values (strings from the environment, TOML values)."""
        types = {f.name: f.type for f in fields(cls)}
        parsed: dict[str, object] = {}
        for name, value in raw.items():
            parsed[name] = _parse(name, types[name], value)
        return replace(cls(), **parsed).with_default_paths().validated()

    def with_default_paths(self) -> Settings:
        """Put the serving copy and the Parquet export beside the warehouse unless set elsewhere."""
        beside = Path(self.warehouse_path).parent
        return replace(
            self,
            serving_path=self.serving_path or str(beside / "serving.duckdb"),
            parquet_dir=self.parquet_dir or str(beside / "parquet"),
        )

    def validated(self) -> Settings:
        if self.bucket_width not in BUCKET_WIDTHS:
            raise ConfigError(
                f"{SETTINGS['bucket_width'].env}={self.bucket_width!r} is not a bucket width; use one of {', '.join(BUCKET_WIDTHS)}"
            )
        for name in ("lookback_days", "claude_code_lookback_days"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{SETTINGS[name].env} must be >= 0")
        if self.request_burst < 1:
            raise ConfigError(f"{SETTINGS['request_burst'].env} must be >= 1")
        if self.timeout_seconds <= 0:
            raise ConfigError(f"{SETTINGS['timeout_seconds'].env} must be > 0")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{SETTINGS['base_url'].env}={self.base_url!r} must start with http:// or https://")
        return self

    def require_keys(self) -> tuple[str, ...]:
        """The admin keys, or a ConfigError telling the user how to provide one."""
        if not self.admin_keys:
            raise ConfigError(
                "No Admin API key: set ANTHROPIC_ADMIN_KEY to an Admin key (sk-ant-admin01-..., "
                "Console > Settings > Admin keys), or run `usage-pipeline demo` to try the built-in simulator."
            )
        return self.admin_keys


def _read_config_file(path: Path) -> dict[str, object]:
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    by_key = {setting.key: name for name, setting in SETTINGS.items()}
    unknown = sorted(set(document) - set(by_key))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(by_key))}")
    if "admin_key" in document:
        raise ConfigError(f"{path}: admin keys belong in the ANTHROPIC_ADMIN_KEY environment variable, not in a file")
    return {by_key[key]: value for key, value in document.items()}


def _parse(name: str, kind: object, value: object) -> object:
    env = SETTINGS[name].env
    text = str(value).strip()
    try:
        if name == "admin_keys":
            keys = value if isinstance(value, (list, tuple)) else text.split(",")
            return tuple(k.strip() for k in keys if str(k).strip())
        if name == "budgets":
            return _parse_budgets(value)
        if kind in ("bool", bool):
            if isinstance(value, bool):
                return value
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if kind in ("int", int):
            return int(text)
        if kind in ("float", float):
            return float(text)
        if kind in ("date", date):
            return value if isinstance(value, date) else date.fromisoformat(text)
        return text.rstrip("/") if name == "base_url" else text
    except ValueError as exc:
        shown = "<redacted>" if name == "admin_keys" else repr(text)
        raise ConfigError(f"{env}={shown} is invalid: {exc}") from None


def _parse_budgets(value: object) -> tuple[tuple[str, Decimal], ...]:
    """A TOML table {workspace: amount} or the text 'workspace=amount,...'; amounts exact, >= 0."""
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        pairs = [item.split("=", 1) for item in str(value).split(",") if item.strip()]
    budgets = []
    for pair in pairs:
        if len(pair) != 2 or not str(pair[0]).strip():
            raise ValueError(f"expected workspace=amount, got {'='.join(map(str, pair))!r}")
        workspace, amount = str(pair[0]).strip(), str(pair[1]).strip()
        try:
            budget = Decimal(amount)
        except InvalidOperation:
            raise ValueError(f"budget of {workspace!r} is not a number: {amount!r}") from None
        if not budget.is_finite() or budget < 0:
            raise ValueError(f"budget of {workspace!r} must be a non-negative amount in USD")
        budgets.append((workspace, budget))
    return tuple(budgets)
