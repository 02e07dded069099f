"""Every error a user can fix is one actionable line (at most three lines of stderr in all, with the
run's own progress), exit 1, no traceback: a full disk, a read-only folder, a path that is a folder
or not a DuckDB file, numbers out of range, text from the API with terminal escapes in it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines import cli
from admin_api_simulator import Simulator
from tests.conftest import SIMULATOR_NOW, SIMULATOR_SEED
from tests.faults.helpers import cli_command, run_cli, sync_args
from tests.hostile.helpers import LAST, assert_refused, hostile_env
from tests.scripted_server import ScriptedServer, json_reply
from tests.test_cli import run_cli as run_plain_cli

pytestmark = pytest.mark.hostile

ONE_REPORT = sync_args(LAST, LAST, "--skip-entities", "--reports", "cost_report")


def in_own_mount(folder: Path, options: str, command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `command` with a fresh tmpfs (mount `options`) on `folder`, seen by that command alone (a
    private mount namespace: nothing is mounted for anyone else, nothing is left behind)."""
    script = 'mount -t tmpfs -o "$0" tmpfs "$1" && shift && exec "$@"'
    return subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script, options, str(folder), *command],
                          env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def mounts(tmp_path_factory):
    """Skip where this machine cannot give a process its own mounts (no unshare, no user namespaces)."""
    folder = tmp_path_factory.mktemp("probe")
    if shutil.which("unshare") is None or in_own_mount(folder, "size=1m", ["true"], {}).returncode != 0:
        pytest.skip("no private mount namespaces here (unshare --map-root-user --mount)")


@pytest.mark.parametrize(("options", "expected"), [("size=512k", "No space left on device"),
                                                   ("ro,size=1m", "Read-only file system")])
def test_a_full_disk_or_a_read_only_folder_is_one_line(mounts, options, expected, tmp_path):
    folder = tmp_path / "mounted"
    folder.mkdir()
    with Simulator(seed=SIMULATOR_SEED, now=SIMULATOR_NOW) as simulator:
        result = in_own_mount(folder, options, cli_command(*ONE_REPORT), hostile_env(simulator, folder / "w.duckdb"))
    assert_refused(result, expected, ran=True)


def test_paths_that_cannot_be_the_warehouse_are_one_line(warehouse, tmp_path):
    foreign = tmp_path / "notes.duckdb"
    foreign.write_text("not a database\n")
    with ScriptedServer() as server:
        server.reply(json_reply({"id": "org-x", "name": "X", "type": "organization"}),
                     json_reply({"data": [], "has_more": False, "next_page": None}))
        base = hostile_env(None, tmp_path / "w.duckdb", ANTHROPIC_BASE_URL=server.url)
        assert_refused(run_cli(*ONE_REPORT, env=base | {"WAREHOUSE_PATH": str(tmp_path)}), "is a directory")
        serving_folder = base | {"USAGE_PIPELINE_SERVING_PATH": str(tmp_path)}
        assert_refused(run_cli(*ONE_REPORT, env=serving_folder), "is a directory")
        assert_refused(run_cli(*ONE_REPORT, env=base | {"WAREHOUSE_PATH": str(foreign)}), "not a valid DuckDB")
    broken = tmp_path / "serving.duckdb"
    broken.write_bytes(b"\0" * 4096)
    assert_refused(run_plain_cli("sql", "SELECT 1", env={"USAGE_PIPELINE_SERVING_PATH": str(broken)}),
                   "cannot be read", "usage-pipeline sync")


NUMBERS = {
    "USAGE_PIPELINE_REQUEST_DEADLINE_SECONDS": ["nan", "inf", "-1", "0", "1e9", "soon"],
    "USAGE_PIPELINE_MAX_RESPONSE_MB": ["-5", "0", "1.5", "999999"],
    "USAGE_PIPELINE_PAGES_DEADLINE_SECONDS": ["nan", "-inf"],
    "USAGE_PIPELINE_ALLOW_INSECURE_HTTP": ["maybe"],
    "USAGE_PIPELINE_SHARE_WITH_GROUP": ["2"],
}
OPTIONS = [
    (sync_args(LAST, LAST, "--wait", "nan"), "--wait must be >= 0"),
    (sync_args(LAST, LAST, "--wait", "inf"), "--wait must be >= 0"),
    (sync_args(LAST, LAST, "--wait", "-1"), "--wait must be >= 0"),
    (("demo", "--days", "0"), "--days must be at least 1"),
    (("demo", "--days", "100000"), "--days must be at least 1"),
    (("simulate", "--port", "70000"), "--port"),
    (("simulate", "--fault-rate", "nan"), "--fault-rate"),
    (("simulate", "--rows-per-hour", "-5"), "--rows-per-hour"),
]


def test_numbers_out_of_range_are_one_line_naming_the_range(tmp_path, monkeypatch, capsys, in_process_cli):
    """In-process (the same `main` the console script runs), so the many cases cost no process starts."""
    monkeypatch.chdir(tmp_path)
    cases = [(sync_args(LAST, LAST), {variable: value}, variable) for variable, values in NUMBERS.items()
             for value in values] + [(args, {}, message) for args, message in OPTIONS]
    for args, changes, needle in cases:
        with monkeypatch.context() as env:
            for name, value in hostile_env(None, tmp_path / "w.duckdb", **changes).items():
                env.setenv(name, value)
            status = cli.main(list(args))
        captured = capsys.readouterr()
        assert_refused(subprocess.CompletedProcess(args, status, captured.out, captured.err), needle)
    assert list(tmp_path.iterdir()) == []


def test_text_from_the_api_reaches_the_terminal_without_escapes(tmp_path):
    hostile = "\x1b]0;owned\x07\x1b[2J\x1b[31mkey revoked\r\u202eenilno"
    with ScriptedServer() as server:
        server.reply(json_reply({"type": "error", "error": {"type": "invalid_request_error", "message": hostile}}, 400))
        result = run_cli(*ONE_REPORT, env=hostile_env(None, tmp_path / "w.duckdb", ANTHROPIC_BASE_URL=server.url))
    line = assert_refused(result, "key revoked", "\\x1b")
    assert not any(character in result.stderr for character in "\x07\r\u202e")
    assert line.count("\n") == 0
