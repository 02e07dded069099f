"""`usage-pipeline sql` is a door for reading the serving copy, nothing else: statements that would
write the warehouse, overwrite a file, read one (an environment file with the admin key) or load
code are refused in one line, and leave every file as it was."""

from __future__ import annotations

import subprocess

import pytest

from pipelines import cli
from tests.hostile.helpers import assert_refused, file_state
from tests.test_cli import run_cli

pytestmark = pytest.mark.hostile

SECRET = "sk-ant-admin01-HOSTILE-SQL-CANARY"


def hostile_statements(warehouse, secrets) -> dict[str, str]:
    w = str(warehouse)
    return {
        "attach the warehouse read-write and empty it":
            f"ATTACH '{w}' AS w (READ_WRITE); DELETE FROM w.raw.cost_report",
        "attach it read-only to read it": f"ATTACH '{w}' AS w (READ_ONLY); SELECT count(*) FROM w.raw.cost_report",
        "copy over the warehouse": f"COPY (SELECT 1 AS x) TO '{w}'",
        "copy the whole database out": f"EXPORT DATABASE '{warehouse.parent / 'exported'}'",
        "read the environment file": f"SELECT * FROM read_text('{secrets}')",
        "read it as CSV": f"SELECT * FROM read_csv('{secrets}', header = false)",
        "read the process environment": "SELECT * FROM read_text('/proc/self/environ')",
        "query a file by name": f"SELECT * FROM '{w}'",
        "list files": "SELECT * FROM glob('/etc/*')",
        "install an extension": "INSTALL httpfs",
        "load an extension": "LOAD httpfs",
        "turn external access back on": "SET enable_external_access = true",
        "unlock the configuration": "SET lock_configuration = false",
        "write the copy itself": "DELETE FROM marts.user_daily_cost",
        "create a table in it": "CREATE TABLE marts.mine AS SELECT 1 AS x",
        "store a secret": "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    }


def test_hostile_sql_is_refused_in_one_line_and_changes_nothing(warehouse, tmp_path, monkeypatch, capsys,
                                                                 in_process_cli):
    """In-process (the `main` the console script runs), so the many statements cost no process starts."""
    secrets = tmp_path / ".env"
    secrets.write_text(f"ANTHROPIC_ADMIN_KEY={SECRET}\n")
    serving = warehouse.with_name("serving.duckdb")
    before = {path: file_state(path) for path in (warehouse, serving, secrets)}
    env = {"WAREHOUSE_PATH": str(warehouse), "ANTHROPIC_ADMIN_KEY": SECRET}
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name, statement in hostile_statements(warehouse, secrets).items():
        status = cli.main(["sql", statement])
        captured = capsys.readouterr()
        assert_refused(subprocess.CompletedProcess(["sql", statement], status, captured.out, captured.err))
        assert SECRET not in captured.out + captured.err, name
    assert {path: file_state(path) for path in before} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [".env", "serving.duckdb", "warehouse.duckdb"]

    kept = run_cli("sql", "SELECT count(*) > 0 AS kept FROM raw.cost_report", env=env, cwd=tmp_path)
    assert kept.returncode == 0 and kept.stdout.split()[2] == "True"  # a plain SELECT works as before


def test_a_refusal_says_why_and_text_with_escapes_prints_inert(warehouse, tmp_path):
    env = {"WAREHOUSE_PATH": str(warehouse)}
    refused = run_cli("sql", f"SELECT * FROM read_text('{warehouse}')", env=env, cwd=tmp_path)
    assert_refused(refused, "reads the serving copy only", "README, Security")

    escapes = "SELECT chr(27) || ']0;owned' || chr(7) || chr(27) || '[2J' || chr(8238) AS name"
    for output_format in ("table", "csv", "json"):
        shown = run_cli("sql", escapes, "--format", output_format, env=env, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout and "\u202e" not in shown.stdout
        assert "owned" in shown.stdout
