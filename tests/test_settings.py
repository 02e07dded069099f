"""The settings model in process: every variable and config key, precedence, ranges, and keys never shown."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.settings import (
    BUCKET_WIDTHS,
    CONFIG_FILE_ONLY,
    DEFAULT_BUCKET_WIDTH,
    ENVIRONMENT_ONLY,
    SETTINGS,
    ConfigError,
    CostCenterEntry,
    Settings,
)

README = Path(__file__).resolve().parents[1] / "README.md"
KEY = "sk-ant-admin01-CANARY-settings-not-a-real-key"
PASSWORD = "pa55-CANARY-word"
TODAY = datetime.now(UTC).date()

# name -> (environment text, config file value, parsed value); admin_keys has no config key, cost_centers
# no environment variable.
SAMPLES = {
    "admin_keys": (f"{KEY}, other-key ,", None, (KEY, "other-key")),
    "base_url": ("http://127.0.0.1:8765/", '"http://127.0.0.1:8765/"', "http://127.0.0.1:8765"),
    "warehouse_path": ("/srv/w.duckdb", '"/srv/w.duckdb"', "/srv/w.duckdb"),
    "serving_path": ("/srv/s.duckdb", '"/srv/s.duckdb"', "/srv/s.duckdb"),
    "parquet_dir": ("/srv/parquet", '"/srv/parquet"', "/srv/parquet"),
    "start_date": ("2026-01-01", "2026-01-01", date(2026, 1, 1)),
    "bucket_width": ("1d", '"1d"', "1d"),
    "source": ("legacy", '"legacy"', "legacy"),
    "group_by_speed": ("yes", "true", True),
    "lookback_days": (" 7 ", "7", 7),
    "claude_code_lookback_days": ("366", "366", 366),
    "requests_per_minute": ("0.5", "0.5", 0.5),
    "request_burst": ("10000", "10000", 10000),
    "timeout_seconds": ("3600", "3600", 3600.0),
    "request_deadline_seconds": ("90", "90", 90.0),
    "max_response_mb": ("128", "128", 128),
    "pages_deadline_seconds": ("600", "600", 600.0),
    "allow_insecure_http": ("true", "true", True),
    "share_with_group": ("yes", "true", True),
    "budgets": ("Production=2500, wrkspc_01=0.10", None, (("Production", Decimal("2500")), ("wrkspc_01", Decimal("0.10")))),
    "stale_after_days": (" 3 ", "3", 3),
    "stale_after_days_by_report": ("claude_code_usage=3, cost_report = 1", None,
                                   (("claude_code_usage", 3), ("cost_report", 1))),
    "refresh_lag_hours": (" 6 ", "6", 6),
    "cost_centers_file": ("cost-centers.csv ", '"cost-centers.csv"', "cost-centers.csv"),
    "cost_centers": (None, None, None),  # see test_cost_centers_entries_in_the_config_file
    "alert_webhook_url": ("http://127.0.0.1:9/hook", None, "http://127.0.0.1:9/hook"),
    "smtp_host": ("smtp.example.test", '"smtp.example.test"', "smtp.example.test"),
    "smtp_port": ("2525", "2525", 2525),
    "smtp_user": ("alerts", '"alerts"', "alerts"),
    "smtp_password": ("s3cret", None, "s3cret"),
    "smtp_from": ("pipeline@example.test", '"pipeline@example.test"', "pipeline@example.test"),
    "smtp_to": ("a@example.test, b@example.test", None, ("a@example.test", "b@example.test")),
}


# What a setting cannot be set without (a sample set alone must load).
NEEDS = {"smtp_host": {"USAGE_PIPELINE_SMTP_FROM": "pipeline@example.test", "USAGE_PIPELINE_SMTP_TO": "a@example.test"}}


@pytest.fixture(autouse=True)
def no_config_file_in_cwd(tmp_path, monkeypatch):
    """Settings.load reads ./usage-pipeline.toml when present: run where there is none."""
    monkeypatch.chdir(tmp_path)


def load(environ: dict[str, str], config_text: str | None = None, tmp_path: Path | None = None) -> Settings:
    config = None
    if config_text is not None:
        config = tmp_path / "usage-pipeline.toml"
        config.write_text(config_text)
    return Settings.load(environ, config)


def refused(raw: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_mapping(raw)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_the_samples_cover_every_setting():
    assert set(SAMPLES) == set(SETTINGS)


@pytest.mark.parametrize("name", [name for name in SETTINGS if name not in CONFIG_FILE_ONLY])
def test_each_environment_variable_is_read(name):
    text, _, parsed = SAMPLES[name]
    settings = Settings.load({SETTINGS[name].env: text, **NEEDS.get(name, {})}, config_file=None)
    assert getattr(settings, name) == parsed


@pytest.mark.parametrize("name", [name for name, sample in SAMPLES.items() if sample[1] is not None])
def test_each_config_key_is_read(name, tmp_path):
    _, value, parsed = SAMPLES[name]
    settings = load(NEEDS.get(name, {}), f"{SETTINGS[name].key} = {value}\n", tmp_path)
    assert getattr(settings, name) == parsed


def test_budgets_table_in_the_config_file(tmp_path):
    settings = load({}, '[budgets]\n"Production" = 2500\nwrkspc_01 = 0.1\n', tmp_path)
    assert settings.budgets == (("Production", Decimal("2500")), ("wrkspc_01", Decimal("0.1")))


def test_cost_centers_entries_in_the_config_file(tmp_path):
    text = ('lookback_days = 5\n\n[[cost_centers]]\nkind = "workspace"\nid = "wrkspc_01"\nteam = "Platform"\n'
            'cost_center = "CC-100"\nvalid_from = 2026-01-01\n\n[budgets]\nProduction = 1\n\n'
            '  [[ cost_centers ]]  # the second\nkind = "product"\nid = "claude_code"\n')
    settings = load({}, text, tmp_path)
    config = tmp_path / "usage-pipeline.toml"
    assert settings.cost_centers == (
        CostCenterEntry(f"{config}:3", (("kind", "workspace"), ("id", "wrkspc_01"), ("team", "Platform"),
                                        ("cost_center", "CC-100"), ("valid_from", date(2026, 1, 1)))),
        CostCenterEntry(f"{config}:13", (("kind", "product"), ("id", "claude_code"))),
    )
    with pytest.raises(ConfigError, match=r"usage-pipeline\.toml: write each cost-center mapping row as its own "):
        load({}, 'cost_centers = [{kind = "product"}]\n', tmp_path)
    with pytest.raises(ConfigError, match=r"\[\[cost_centers\]\] table \(double brackets\), or name a CSV with "
                                          r"cost_centers_file"):
        load({}, '[cost_centers]\nfile = "cost-centers.csv"\n', tmp_path)  # one table, not one per row


def test_stale_after_days_by_report_table_in_the_config_file(tmp_path):
    settings = load({}, "stale_after_days = 5\n[stale_after_days_by_report]\nclaude_code_usage = 3\n", tmp_path)
    assert (settings.stale_after_days, settings.stale_after_days_by_report) == (5, (("claude_code_usage", 3),))


def test_an_unknown_report_in_stale_after_days_by_report_is_one_line_listing_the_reports(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load({"USAGE_PIPELINE_STALE_AFTER_DAYS_BY_REPORT": "claude_code=3,cost_report=1"}, None)
    assert str(caught.value) == (
        "USAGE_PIPELINE_STALE_AFTER_DAYS_BY_REPORT='claude_code=3,cost_report=1' names unknown report(s) claude_code; "
        "choose from analytics_usage, analytics_cost, messages_usage, cost_report, claude_code_usage")
    with pytest.raises(ConfigError, match="names unknown report"):
        load({}, "[stale_after_days_by_report]\nmessages = 1\n", tmp_path)


def test_defaults_and_paths_beside_the_warehouse():
    settings = Settings.load({}, config_file=None)
    assert settings == Settings()
    assert (settings.bucket_width, settings.lookback_days, settings.requests_per_minute) == (DEFAULT_BUCKET_WIDTH, 3, 30.0)
    assert (settings.serving_path, settings.parquet_dir) == ("data/serving.duckdb", "data/parquet")
    moved = Settings.from_mapping({"warehouse_path": "/srv/w.duckdb"})
    assert (moved.serving_path, moved.parquet_dir) == ("/srv/serving.duckdb", "/srv/parquet")
    assert BUCKET_WIDTHS == ("1m", "1h", "1d")


def test_environment_beats_config_file_beats_default(tmp_path):
    config = 'bucket_width = "1d"\nlookback_days = 5\n'
    settings = load({"USAGE_PIPELINE_LOOKBACK_DAYS": "9", "USAGE_PIPELINE_REQUEST_BURST": " "}, config, tmp_path)
    assert (settings.bucket_width, settings.lookback_days, settings.request_burst) == ("1d", 9, 20)


def test_config_file_named_by_the_environment(tmp_path):
    (tmp_path / "elsewhere.toml").write_text("request_burst = 5\n")
    assert Settings.load({"USAGE_PIPELINE_CONFIG": str(tmp_path / "elsewhere.toml")}).request_burst == 5
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load({"USAGE_PIPELINE_CONFIG": str(tmp_path / "missing.toml")})


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        ("bucket_widht = \"1h\"\n", "unknown setting(s) bucket_widht"),
        (f'admin_key = "{KEY}"\n', "not in a file"),
        ("lookback_days = \n", "cannot read config file"),
        ("request_burst = nan\n", "USAGE_PIPELINE_REQUEST_BURST='nan' must be a whole number >= 1 and <= 10000"),
        ("timeout_seconds = inf\n", "USAGE_PIPELINE_TIMEOUT_SECONDS='inf' must be a finite number > 0 and <= 3600"),
    ],
)
def test_config_file_mistakes(tmp_path, config_text, message):
    with pytest.raises(ConfigError) as caught:
        load({}, config_text, tmp_path)
    assert message in str(caught.value)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"requests_per_minute": "nan"}, "USAGE_PIPELINE_REQUESTS_PER_MINUTE='nan' must be a finite number >= 0"),
        ({"requests_per_minute": "-1"}, "USAGE_PIPELINE_REQUESTS_PER_MINUTE='-1' must be a finite number >= 0"),
        ({"timeout_seconds": "0"}, "USAGE_PIPELINE_TIMEOUT_SECONDS='0' must be a finite number > 0 and <= 3600"),
        ({"timeout_seconds": "86400"}, "USAGE_PIPELINE_TIMEOUT_SECONDS='86400' must be a finite number > 0 and <= 3600"),
        ({"request_burst": "0"}, "USAGE_PIPELINE_REQUEST_BURST='0' must be a whole number >= 1 and <= 10000"),
        ({"request_burst": "1e9"}, "USAGE_PIPELINE_REQUEST_BURST='1e9' must be a whole number >= 1 and <= 10000"),
        ({"lookback_days": "-1"}, "USAGE_PIPELINE_LOOKBACK_DAYS='-1' must be a whole number >= 0 and <= 366"),
        ({"claude_code_lookback_days": "400"}, "USAGE_PIPELINE_CLAUDE_CODE_LOOKBACK_DAYS='400' must be a whole number >= 0"),
        ({"lookback_days": "2.5"}, "USAGE_PIPELINE_LOOKBACK_DAYS='2.5' must be a whole number"),
        ({"start_date": "2026-02-30"}, "USAGE_PIPELINE_START_DATE='2026-02-30' is invalid"),
        ({"start_date": "2019-12-31"}, "USAGE_PIPELINE_START_DATE='2019-12-31' must be a day from 2020-01-01 to today"),
        ({"start_date": (TODAY + timedelta(days=1)).isoformat()}, "must be a day from 2020-01-01 to today"),
        ({"bucket_width": "5m"}, "USAGE_PIPELINE_BUCKET_WIDTH='5m' is not a bucket width; use one of 1m, 1h, 1d"),
        ({"group_by_speed": "maybe"}, "USAGE_PIPELINE_GROUP_BY_SPEED='maybe' is invalid"),
        ({"base_url": "api.anthropic.com"}, "ANTHROPIC_BASE_URL='api.anthropic.com' must start with http:// or https://"),
        ({"budgets": "Production=lots"}, "USAGE_PIPELINE_BUDGETS='Production=lots' is invalid: budget of 'Production' is not a number"),
        ({"budgets": "Production=-5"}, "budget of 'Production' must be a non-negative amount in USD"),
        ({"budgets": "Production=NaN"}, "budget of 'Production' must be a non-negative amount in USD"),
        ({"budgets": "Production"}, "expected workspace=amount, got 'Production'"),
        ({"stale_after_days_by_report": "cost_report=-1"},
         "USAGE_PIPELINE_STALE_AFTER_DAYS_BY_REPORT='cost_report=-1' is invalid: days of 'cost_report' must be a "
         "whole number >= 0 and <= 366"),
        ({"stale_after_days_by_report": {"cost_report": 1.5}}, "days of 'cost_report' must be a whole number"),
        ({"stale_after_days_by_report": {"cost_report": True}}, "days of 'cost_report' must be a whole number"),
        ({"stale_after_days_by_report": "cost_report=367"}, "must be a whole number >= 0 and <= 366"),
        ({"stale_after_days_by_report": "cost_report"}, "expected report=days, got 'cost_report'"),
        ({"refresh_lag_hours": "-1"}, "USAGE_PIPELINE_REFRESH_LAG_HOURS='-1' must be a whole number >= 0 and <= 8784"),
        ({"refresh_lag_hours": "1.5"}, "USAGE_PIPELINE_REFRESH_LAG_HOURS='1.5' must be a whole number"),
    ],
)
def test_invalid_values_name_the_variable_and_the_valid_range(raw, message):
    assert message in refused(raw)


def test_start_date_today_is_accepted():
    assert Settings.from_mapping({"start_date": TODAY}).start_date == TODAY


@pytest.mark.parametrize(
    "url",
    [f"https://user:{PASSWORD}@api.anthropic.com", f"http://{PASSWORD}@127.0.0.1:8765", f"ftp://user:{PASSWORD}@host"],
)
def test_base_url_with_credentials_is_refused_without_echoing_the_password(url):
    message = refused({"base_url": url})
    assert message.startswith("ANTHROPIC_BASE_URL=<redacted> ")
    assert PASSWORD not in message


@pytest.mark.parametrize("url", [f"http://10.255.255.1/services/{PASSWORD}", f"http://hooks.example.test/x?token={PASSWORD}",
                                 f"http://[2001:db8::1]:8080/{PASSWORD}", f"ftp://hooks.example.test/{PASSWORD}",
                                 f"http://[::1/{PASSWORD}"])
def test_an_alert_webhook_off_the_machine_must_be_https_and_is_never_shown(url):
    message = refused({"alert_webhook_url": url})
    assert message.startswith("USAGE_PIPELINE_ALERT_WEBHOOK_URL=<redacted> ")
    assert PASSWORD not in message and "/services" not in message and "token" not in message


def test_an_alert_webhook_may_be_https_loopback_http_or_opted_in():
    for url in ("https://hooks.example.test/services/T0/B0/x", "http://127.0.0.1:9/hook", "http://localhost:9/hook",
                "http://[::1]:9/hook"):
        assert Settings.from_mapping({"alert_webhook_url": url}).alert_webhook_url == url
    opted_in = {"alert_webhook_url": "http://10.255.255.1/hook", "allow_insecure_http": "true"}
    assert Settings.from_mapping(opted_in).alert_webhook_url == "http://10.255.255.1/hook"


def test_admin_keys_never_appear_in_repr_str_dumps_or_errors():
    settings = Settings.from_mapping({"admin_keys": KEY})
    assert settings.require_keys() == (KEY,)
    for shown in (repr(settings), str(settings), str(settings.model_dump()), settings.model_dump_json()):
        assert KEY not in shown
    assert KEY not in refused({"admin_keys": KEY, "bucket_width": "5m"})
    with pytest.raises(ConfigError, match="No Admin API key"):
        Settings().require_keys()


def test_settings_are_frozen():
    with pytest.raises(ValueError):
        Settings().lookback_days = 5  # type: ignore[misc]


@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False))
def test_any_finite_non_negative_request_rate_is_accepted(rate):
    assert Settings.from_mapping({"requests_per_minute": rate}).requests_per_minute == rate
    assert Settings.from_mapping({"requests_per_minute": repr(rate)}).requests_per_minute == rate


@given(st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.floats(max_value=-1e-300)))
def test_any_nan_infinite_or_negative_request_rate_is_refused(rate):
    for value in (rate, str(rate)):
        assert "must be a finite number >= 0" in refused({"requests_per_minute": value})


@given(st.floats(allow_nan=True, allow_infinity=True).filter(lambda seconds: not 0 < seconds <= 3600))
def test_any_timeout_outside_the_range_is_refused(seconds):
    assert "must be a finite number > 0 and <= 3600" in refused({"timeout_seconds": str(seconds)})


@given(st.integers())
def test_request_burst_is_accepted_exactly_within_its_range(burst):
    if 1 <= burst <= 10_000:
        assert Settings.from_mapping({"request_burst": str(burst)}).request_burst == burst
    else:
        assert "must be a whole number >= 1 and <= 10000" in refused({"request_burst": str(burst)})


def test_readme_table_lists_every_setting_with_its_variable_and_config_key():
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]*) \|", README.read_text(), flags=re.MULTILINE)
    documented = {env: key.strip() for env, key in rows}
    config_file_only = re.findall(r"^\| \(config file only\) \| `([a-z_]+)`", README.read_text(), flags=re.MULTILINE)
    assert config_file_only == sorted(CONFIG_FILE_ONLY)
    for name, setting in SETTINGS.items():
        if name in CONFIG_FILE_ONLY:
            continue
        assert setting.env in documented, setting.env
        expected = "(environment only)" if name in {"admin_keys", *ENVIRONMENT_ONLY} else f"`{setting.key}`"
        assert documented[setting.env].startswith(expected), (setting.env, documented[setting.env])


@pytest.mark.parametrize(("given", "missing"), [
    ({}, "not USAGE_PIPELINE_SMTP_FROM nor USAGE_PIPELINE_SMTP_TO: set them too"),
    ({"smtp_to": "a@example.test"}, "not USAGE_PIPELINE_SMTP_FROM: set it too"),
    ({"smtp_from": "pipeline@example.test"}, "not USAGE_PIPELINE_SMTP_TO: set it too"),
])
def test_an_smtp_host_without_sender_or_recipients_names_what_is_missing(given, missing):
    message = refused({"smtp_host": "smtp.example.test", "smtp_password": PASSWORD, **given})
    assert message == (f"USAGE_PIPELINE_SMTP_HOST is set but {missing}, or unset USAGE_PIPELINE_SMTP_HOST for no "
                       "alert email")
    assert PASSWORD not in message


def test_alert_secrets_are_refused_in_the_config_file_and_never_shown(tmp_path):
    config = tmp_path / "usage-pipeline.toml"
    config.write_text('alert_webhook_url = "https://hooks.example.test/services/T0/B0/secret-in-a-file"\n')
    with pytest.raises(ConfigError, match="USAGE_PIPELINE_ALERT_WEBHOOK_URL in the environment") as error:
        Settings.load(environ={}, config_file=config)
    assert "secret-in-a-file" not in str(error.value)
    assert "s3cret" not in repr(Settings.from_mapping({"smtp_password": "s3cret"}))
