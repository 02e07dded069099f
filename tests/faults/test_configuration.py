"""Configuration mistakes: one clear line on stderr, exit 1, and not a single request sent.

(Moved here from tests/test_cli.py and extended.) The cases run as concurrent processes against one
simulator, which must see no request at all; each case's warehouse must not even be created.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from admin_api_simulator import Simulator
from tests.faults.helpers import cli_command, cli_env

pytestmark = pytest.mark.faults

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
RANGE = ("--start", "2026-11-01", "--end", "2026-11-02")
FUTURE = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
PASSWORD = "pa55-CANARY-word"  # in a base URL: refused, and never printed

# name -> (CLI arguments, environment changes (None = unset), config file text, expected message)
CASES = {
    "unknown bucket width": (("sync", *RANGE), {"USAGE_PIPELINE_BUCKET_WIDTH": "5m"}, None, "is not a bucket width"),
    "unknown bucket width in the config file": (("sync", *RANGE), {}, 'bucket_width = "2h"\n', "is not a bucket width"),
    "start after end": (("sync", "--start", "2026-11-09", "--end", "2026-11-01"), {}, None, "is after --end"),
    "unparsable --start": (("sync", "--start", "2026-13-01", "--end", "2026-11-01"), {}, None, "is not a date"),
    "unparsable --end": (("sync", "--start", "2026-11-01", "--end", "next tuesday"), {}, None, "is not a date"),
    "unparsable start date setting": (("sync", *RANGE), {"USAGE_PIPELINE_START_DATE": "2026-02-30"}, None,
                                      "USAGE_PIPELINE_START_DATE='2026-02-30' is invalid"),
    "--end in the future": (("sync", "--start", "2026-11-01", "--end", FUTURE), {}, None, "is in the future"),
    "missing key": (("sync", *RANGE), {"ANTHROPIC_ADMIN_KEY": None}, None, "No Admin API key"),
    "empty key": (("sync", *RANGE), {"ANTHROPIC_ADMIN_KEY": " , "}, None, "No Admin API key"),
    "key in the config file": (("sync", *RANGE), {}, 'admin_key = "sk-ant-admin01-x"\n', "not in a file"),
    "unknown report": (("sync", *RANGE, "--reports", "messages_usage,invoices"), {}, None, "unknown report(s) invoices"),
    "negative --wait": (("sync", *RANGE, "--wait", "-1"), {}, None, "--wait must be >= 0"),
    "nan request rate": (("sync", *RANGE), {"USAGE_PIPELINE_REQUESTS_PER_MINUTE": "nan"}, None,
                         "USAGE_PIPELINE_REQUESTS_PER_MINUTE='nan' must be a finite number >= 0"),
    "infinite timeout in the config file": (("sync", *RANGE), {}, "timeout_seconds = inf\n",
                                            "USAGE_PIPELINE_TIMEOUT_SECONDS='inf' must be a finite number > 0 and <= 3600"),
    "negative lookback": (("sync", *RANGE), {"USAGE_PIPELINE_LOOKBACK_DAYS": "-3"}, None,
                          "USAGE_PIPELINE_LOOKBACK_DAYS='-3' must be a whole number >= 0 and <= 366"),
    "absurd burst": (("sync", *RANGE), {"USAGE_PIPELINE_REQUEST_BURST": "1000000"}, None,
                     "USAGE_PIPELINE_REQUEST_BURST='1000000' must be a whole number >= 1 and <= 10000"),
    "start date in the future": (("sync", *RANGE), {"USAGE_PIPELINE_START_DATE": FUTURE}, None,
                                 "must be a day from 2020-01-01 to today"),
    "base URL with a password": (("sync", *RANGE), {"ANTHROPIC_BASE_URL": f"http://user:{PASSWORD}@127.0.0.1:9"}, None,
                                 "ANTHROPIC_BASE_URL=<redacted> must not contain credentials"),
    "unknown config key": (("sync", *RANGE), {}, "lookback = 3\n", "unknown setting(s) lookback"),
}


def test_configuration_errors_are_clear_and_send_no_request(tmp_path, figures):
    with Simulator(seed=7, now=NOW) as simulator:
        processes = {}
        for name, (args, changes, config_text, _message) in CASES.items():
            case_dir = tmp_path / name.replace(" ", "_")
            case_dir.mkdir()
            env = cli_env(simulator, case_dir / "w.duckdb")
            for variable, value in changes.items():
                if value is None:
                    env.pop(variable, None)
                else:
                    env[variable] = value
            if config_text is not None:
                (case_dir / "usage-pipeline.toml").write_text(config_text)
            processes[name] = subprocess.Popen(
                cli_command(*args), env=env, cwd=case_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        problems = []
        for name, process in processes.items():
            stdout, stderr = process.communicate(timeout=120)
            message = CASES[name][3]
            case_dir = tmp_path / name.replace(" ", "_")
            errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
            if process.returncode != 1 or len(errors) != 1 or message not in errors[0] or "Traceback" in stderr:
                problems.append(f"{name}: exit {process.returncode}, stderr {stderr[-500:]!r}")
            if PASSWORD in stdout + stderr:
                problems.append(f"{name}: the base URL's password was printed")
            if (case_dir / "w.duckdb").exists() or (case_dir / "w.duckdb.lock").exists():
                problems.append(f"{name}: the warehouse was touched")
        figures.add_requests(simulator.stats)
        figures.note(f"{len(CASES)} configuration mistakes, each refused before any request")
        assert problems == []
        assert simulator.stats.total == 0  # not one request, from any case
