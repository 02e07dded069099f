"""Benchmark (issue 7): this pipeline against the fetch-and-parse floor and dlt, on the simulator.

    .venv/bin/python benchmarks/run.py                    # a year, ~200 rows/hour (~1.75 M rows)
    .venv/bin/python benchmarks/run.py --days 14          # a quick check (under a minute)

One run starts the simulator in its own process (benchmarks/simserver.py: pinned clock, responses
cached after one warm-up pass) and measures, each case in its own fresh process (wall time from
spawn to exit, peak RSS from that child's rusage via wait4):

- floor: every page of the pipeline's messages usage requests, httpx + json.loads, nothing else;
- fetch only: the same requests without the parse (the transport's share, for diagnosis);
- pipeline: `usage-pipeline sync --reports messages_usage --skip-entities` into a fresh file, the
  same on a shorter window (peak RSS must not grow with the window), and a full sync of every
  report plus the entity snapshots;
- dlt: the `rest_api` source loading the same pages into DuckDB (dlt in benchmarks/.venv-dlt,
  created on first use from benchmarks/requirements-dlt.txt), with dlt's default file format for
  duckdb and with parquet;
- incremental: a one-day `usage-pipeline sync --start D --end D` on a copy of the year's
  warehouse, against the same on an empty warehouse (median of --incremental-repeats runs), and
  the same day's report loads alone (no entities, marts or publication) on both, for diagnosis;
- analyst queries: the README's ```sql examples on the year's warehouse, when marts exist.

Prints the table, checks the issue's targets, and writes benchmarks/results/benchmark-<UTC time>.json
and .md (and latest.json / latest.md). Case logs go to benchmarks/results/logs/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import venv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time as clock_time, timedelta
from pathlib import Path

import duckdb
import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import plan  # noqa: E402
from pipelines.catalog import raw_day_columns  # noqa: E402

PYTHON = sys.executable
_CONSOLE_SCRIPT = Path(PYTHON).parent / "usage-pipeline"
USAGE_PIPELINE = [str(_CONSOLE_SCRIPT)] if _CONSOLE_SCRIPT.exists() else [PYTHON, "-m", "pipelines.cli"]
DLT_VENV = BENCH / ".venv-dlt"
DLT_PYTHON = DLT_VENV / "bin" / "python"
DLT_REQUIREMENTS = BENCH / "requirements-dlt.txt"
REPORT_TABLES = tuple(raw_day_columns())
STARTUP_SECONDS = 60  # bound on the simulator's start
MiB = 1024  # ru_maxrss is in KiB on Linux

# Targets of issue 7.
MAX_RATIO_TO_FLOOR = 2.0
MIN_SPEEDUP_OVER_DLT = 20.0
MAX_PEAK_RSS_MIB = 1024.0
MAX_RSS_GROWTH = 1.2  # full window's peak RSS over the short window's
MAX_INCREMENTAL_RATIO = 1.2
MAX_QUERY_MS = 200.0


@dataclass
class Case:
    name: str
    rows: int | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mib: float = 0.0
    runs: list[dict] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    informational: bool = False
    same_window_as_floor: bool = True  # a ratio to the floor means something only for the same requests

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds else None


class BenchmarkError(RuntimeError):
    pass


# --- processes ------------------------------------------------------------------------------------

def run_measured(name: str, command: list[str], env: dict[str, str], log_dir: Path, timeout: float) -> dict:
    """Run one case in a fresh child; wall seconds, CPU seconds and peak RSS from its own rusage."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=log_dir.parent / "work", stdout=log, stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, _kill, args=(process.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        raise BenchmarkError(f"case {name!r} exited {process.returncode}; log {log_path}:\n  " + "\n  ".join(tail))
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / MiB, 1),
    }


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class SimulatorProcess:
    """benchmarks/simserver.py in its own process; ready once it printed its URL and answers /me."""

    def __init__(self, rows_per_hour: int, seed: int, now: datetime, cache: bool, log_path: Path):
        command = [PYTHON, str(BENCH / "simserver.py"), "--rows-per-hour", str(rows_per_hour), "--seed", str(seed),
                   "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")] + ([] if cache else ["--no-cache"])
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log, cwd=ROOT)
        try:
            announced = json.loads(self._read_line(STARTUP_SECONDS))
            self.base_url, self.admin_key = announced["base_url"], announced["admin_key"]
            self._wait_ready(STARTUP_SECONDS)
        except BaseException:
            self.stop()
            raise

    def _read_line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                raise BenchmarkError(f"the simulator did not start within {timeout:.0f} s (see {self._log.name})")
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    raise BenchmarkError(f"the simulator exited at start (see {self._log.name})")
                line += chunk
        return line.decode()

    def _wait_ready(self, timeout: float) -> None:
        deadline, wait = time.monotonic() + timeout, 0.01
        headers = {"x-api-key": self.admin_key, "anthropic-version": plan.API_VERSION}
        while True:
            try:
                if httpx.get(self.base_url + "/v1/organizations/me", headers=headers, timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() + wait > deadline:
                raise BenchmarkError(f"the simulator at {self.base_url} did not answer within {timeout:.0f} s")
            time.sleep(wait)
            wait = min(wait * 2, 0.5)

    def stats(self) -> dict:
        return httpx.get(self.base_url + "/__bench/stats", timeout=10).json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if self.process.stdout:
            self.process.stdout.close()
        self._log.close()


def ensure_dlt_venv(say) -> None:
    """benchmarks/.venv-dlt from the pinned requirements, so the project's lock stays untouched."""
    marker = DLT_VENV / ".requirements"
    wanted = DLT_REQUIREMENTS.read_text()
    if DLT_PYTHON.exists() and marker.exists() and marker.read_text() == wanted:
        return
    say(f"creating {DLT_VENV.relative_to(ROOT)} from {DLT_REQUIREMENTS.relative_to(ROOT)} (once)")
    if not DLT_PYTHON.exists():
        venv.create(DLT_VENV, with_pip=True)
    subprocess.run([str(DLT_PYTHON), "-m", "pip", "install", "-q", "-r", str(DLT_REQUIREMENTS)], check=True)
    marker.write_text(wanted)


# --- the benchmark --------------------------------------------------------------------------------

class Benchmark:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out_dir: Path = args.out_dir
        self.work = self.out_dir / "work"
        self.logs = self.out_dir / "logs"
        today = datetime.now(UTC).date()
        self.last_day = today - timedelta(days=1)
        self.first_day = self.last_day - timedelta(days=args.days - 1)
        self.now = datetime.combine(today, clock_time(12), tzinfo=UTC)
        self.compare_first = (self.last_day - timedelta(days=args.compare_days - 1)
                              if 0 < args.compare_days < args.days else None)
        probe = subprocess.run([PYTHON, "-c", "import sys; sys.path.insert(0, 'benchmarks/cases'); import sync_parts; "
                                "sys.exit(0 if sync_parts.HAS_MARTS else 3)"], cwd=ROOT, capture_output=True)
        self.has_marts = probe.returncode == 0
        self.cases: dict[str, Case] = {}
        self.notes: list[str] = []
        self.sim: SimulatorProcess | None = None

    def say(self, message: str) -> None:
        print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    # -- helpers --

    def env(self, warehouse: Path | None = None, start_date: date | None = None, source: str = "legacy") -> dict[str, str]:
        """The cases' environment. The issue-7 cases load from the legacy reports (`source`), as the floor
        and dlt fetch them, so their figures compare with earlier runs; the source cases set their own."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ANTHROPIC_", "USAGE_PIPELINE_", "DAGSTER_", "WAREHOUSE_"))}
        assert self.sim is not None
        env |= {
            "ANTHROPIC_ADMIN_KEY": self.sim.admin_key,  # the simulator's public demo key
            "ANTHROPIC_BASE_URL": self.sim.base_url,
            "USAGE_PIPELINE_START_DATE": (start_date or self.first_day).isoformat(),
            "USAGE_PIPELINE_REQUESTS_PER_MINUTE": "0",
            "USAGE_PIPELINE_SOURCE": source,
            "PYTHONUNBUFFERED": "1",
        }
        if warehouse is not None:
            # each warehouse publishes beside itself, as in a deployment (a shared serving copy
            # would be republished whole every time the other warehouse wrote it)
            env["WAREHOUSE_PATH"] = str(warehouse)
            env["USAGE_PIPELINE_SERVING_PATH"] = str(warehouse.with_name(f"{warehouse.stem}-serving.duckdb"))
            env["USAGE_PIPELINE_PARQUET_DIR"] = str(warehouse.with_name(f"{warehouse.stem}-parquet"))
        return env

    def measure(self, name: str, command: list[str], env: dict[str, str], count_rows=None, repeat: int = 1,
                prepare=None, informational: bool = False, aggregate: str = "min", same_window: bool = True) -> Case:
        """Run a case `repeat` times (fresh process each time); time = min (best of N) or median, RSS = max."""
        case = self.cases.setdefault(name, Case(name, informational=informational, same_window_as_floor=same_window))
        for attempt in range(repeat):
            if prepare:
                prepare()
            assert self.sim is not None
            before = self.sim.stats()
            self.say(f"{name}: run {attempt + 1}/{repeat}")
            measured = run_measured(_slug(name), command, env, self.logs, self.args.case_timeout)
            after = self.sim.stats()
            measured["requests"] = after["requests"] - before["requests"]
            measured["cache_misses"] = after["misses"] - before["misses"]
            if count_rows:
                rows, details = count_rows()
                measured["rows"] = rows
                case.rows, case.details = rows, details
            case.runs.append(measured)
            self.say(f"{name}: {measured['seconds']:.2f} s, peak RSS {measured['peak_rss_mib']:.0f} MiB, "
                     f"{measured.get('rows', case.rows) or '-'} rows")
        seconds = [run["seconds"] for run in case.runs]
        case.seconds = statistics.median(seconds) if aggregate == "median" else min(seconds)
        case.cpu_seconds = statistics.median(run["cpu_seconds"] for run in case.runs)
        case.peak_rss_mib = max(run["peak_rss_mib"] for run in case.runs)
        return case

    def fresh(self, name: str) -> Path:
        path = self.work / name
        for suffix in ("", ".wal", ".tmp", ".lock"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return path

    # -- cases --

    def floor(self) -> None:
        base = [PYTHON, str(BENCH / "cases" / "floor.py"), "--base-url", self.sim.base_url,
                "--admin-key", self.sim.admin_key, "--first", self.first_day.isoformat(),
                "--last", self.last_day.isoformat()]
        out = self.work / "floor.json"

        def floor_rows():
            result = json.loads(out.read_text())
            return result["rows"], result

        self.measure("floor: httpx + json.loads", base + ["--out", str(out)], self.env(), floor_rows,
                     repeat=self.args.repeat)
        out_fetch = self.work / "fetch.json"
        self.measure("fetch only: httpx, no parse", base + ["--out", str(out_fetch), "--no-parse"], self.env(),
                     lambda: (None, json.loads(out_fetch.read_text())), repeat=self.args.repeat,
                     informational=True)

    def pipeline_messages_usage(self, name: str, first_day: date, repeat: int) -> Path:
        """The messages usage load alone: `run_sync(reports=("messages_usage",), entities=False, marts=False)`,
        the CLI's code path without the entity snapshots and the marts rebuild (see cases/sync_parts.py)."""
        warehouse = self.work / f"{_slug(name)}.duckdb"
        command = [PYTHON, str(BENCH / "cases" / "sync_parts.py"), "ingest", "--start", first_day.isoformat(),
                   "--end", self.last_day.isoformat(), "--reports", "messages_usage"]
        self.measure(name, command, self.env(warehouse, first_day), lambda: _count(warehouse, ("raw.messages_usage",)),
                     repeat=repeat, prepare=lambda: self.fresh(warehouse.name), same_window=first_day == self.first_day)
        return warehouse

    def pipeline_full(self) -> Path:
        warehouse = self.work / "full-sync.duckdb"
        command = USAGE_PIPELINE + ["sync", "--start", self.first_day.isoformat(), "--end", self.last_day.isoformat()]
        what = "all reports + entities" + (" + marts" if self.has_marts else "")
        self.measure(f"pipeline: full `usage-pipeline sync` ({what})", command, self.env(warehouse),
                     lambda: _count(warehouse, REPORT_TABLES), repeat=1, prepare=lambda: self.fresh(warehouse.name))
        return warehouse

    def sources(self) -> None:
        """A year of usage and cost from each source alone (requests and seconds), the reports only."""
        for source, reports in (("analytics", "analytics_usage,analytics_cost"), ("legacy", "messages_usage,cost_report")):
            warehouse = self.work / f"source-{source}.duckdb"
            command = [PYTHON, str(BENCH / "cases" / "sync_parts.py"), "ingest", "--start", self.first_day.isoformat(),
                       "--end", self.last_day.isoformat(), "--reports", reports]
            tables = tuple(f"raw.{name}" for name in reports.split(","))
            self.measure(f"source {source}: usage + cost ({reports})", command, self.env(warehouse, source=source),
                         lambda tables=tables, warehouse=warehouse: _count(warehouse, tables), informational=True,
                         prepare=lambda warehouse=warehouse: self.fresh(warehouse.name), same_window=False)

    def marts(self, year_warehouse: Path) -> None:
        """A full marts rebuild, its checks and the (full) publication alone, on a copy of the year's
        warehouse: what a first build, or one after the SQL, prices or entities changed, costs."""
        warehouse = self.work / "marts-rebuild.duckdb"

        def prepare():
            self.fresh(warehouse.name)
            shutil.copyfile(year_warehouse, warehouse)
            with duckdb.connect(str(warehouse)) as con:  # forget the builds: the next one is full
                con.execute("DROP SCHEMA IF EXISTS meta CASCADE")

        if not self.has_marts:
            self.notes.append("marts: this version of the pipeline builds none (case skipped)")
            return
        self.measure(f"pipeline: marts full rebuild + checks + full publication ({self.args.days}-day warehouse)",
                     [PYTHON, str(BENCH / "cases" / "sync_parts.py"), "marts"],
                     self.env(warehouse), repeat=1, prepare=prepare, informational=True, same_window=False)

    def startup(self) -> None:
        self.measure("pipeline: startup only (imports, no work)", [PYTHON, "-c", "import pipelines.cli, pipelines.sync"],
                     self.env(), repeat=3, informational=True, same_window=False)

    def dlt(self, file_format: str | None) -> None:
        label = "parquet" if file_format else "defaults"
        name = f"dlt rest_api ({label})"
        database = self.work / f"dlt-{label}.duckdb"
        spec_path, out = self.work / f"dlt-{label}.spec.json", self.work / f"dlt-{label}.json"
        pipelines_dir = self.work / f"dlt-{label}-pipelines"

        def prepare():
            self.fresh(database.name)
            shutil.rmtree(pipelines_dir, ignore_errors=True)
            spec_path.write_text(json.dumps({
                "base_url": self.sim.base_url, "admin_key": self.sim.admin_key,
                "endpoint": plan.dlt_messages_usage(self.first_day, self.last_day), "file_format": file_format,
                "duckdb_path": str(database), "pipelines_dir": str(pipelines_dir), "out": str(out),
            }))

        def dlt_rows():
            result = json.loads(out.read_text())
            return result["rows"], result

        env = self.env() | {"RUNTIME__DLTHUB_TELEMETRY": "false"}
        self.measure(name, [str(DLT_PYTHON), str(BENCH / "cases" / "dlt_load.py"), str(spec_path)], env, dlt_rows,
                     prepare=prepare)

    def incremental(self, year_warehouse: Path) -> None:
        day = self.last_day.isoformat()
        command = USAGE_PIPELINE + ["sync", "--start", day, "--end", day]
        aged = self.work / "incremental-year.duckdb"
        self.fresh(aged.name)
        shutil.copyfile(year_warehouse, aged)
        empty = self.work / "incremental-empty.duckdb"
        repeats = self.args.incremental_repeats
        # The previous day's run, not measured: a scheduled run starts from the serving copy the run
        # before it published beside this warehouse (the copied file has none yet).
        self.say("incremental: the previous day's run on the year's warehouse (not measured)")
        run_measured("incremental-previous-day", command, self.env(aged), self.logs, self.args.case_timeout)
        # Alternate the two so both see the same machine load.
        for _ in range(repeats):
            self.measure(f"incremental: 1 day on a {self.args.days}-day warehouse", command, self.env(aged),
                         lambda: _count_day(aged, self.last_day), aggregate="median", same_window=False)
            self.measure("incremental: 1 day on an empty warehouse", command, self.env(empty),
                         lambda: _count_day(empty, self.last_day), prepare=lambda: self.fresh(empty.name),
                         aggregate="median", same_window=False)
        # The same day's report loads alone (no entity snapshots, marts or publication), to show
        # which part of a run grows with the warehouse.
        ingest = [PYTHON, str(BENCH / "cases" / "sync_parts.py"), "ingest", "--start", day, "--end", day,
                  "--reports", "messages_usage,cost_report,claude_code_usage"]
        for _ in range(repeats):
            self.measure(f"incremental, reports only: 1 day on a {self.args.days}-day warehouse", ingest,
                         self.env(aged), lambda: _count_day(aged, self.last_day), aggregate="median",
                         same_window=False, informational=True)
            self.measure("incremental, reports only: 1 day on an empty warehouse", ingest, self.env(empty),
                         lambda: _count_day(empty, self.last_day), prepare=lambda: self.fresh(empty.name),
                         aggregate="median", same_window=False, informational=True)

    def queries(self, warehouse: Path) -> dict:
        out = self.work / "queries.json"
        run_measured("analyst-queries", [PYTHON, str(BENCH / "cases" / "queries.py"), str(warehouse),
                                         str(ROOT / "README.md"), str(out)], self.env(), self.logs,
                     self.args.case_timeout)
        return json.loads(out.read_text())

    # -- the whole run --

    def run(self) -> dict:
        args = self.args
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        if not args.skip_dlt:
            ensure_dlt_venv(self.say)
        self.say(f"window {self.first_day} .. {self.last_day} ({args.days} days), {args.rows_per_hour} rows/hour, "
                 f"seed {args.seed}; simulator clock {self.now:%Y-%m-%d %H:%M}Z")
        started = time.perf_counter()
        load_before = os.getloadavg()
        self.sim = SimulatorProcess(args.rows_per_hour, args.seed, self.now, not args.live_simulator,
                                    self.logs / "simulator.log")
        queries: dict = {}
        try:
            self.say(f"simulator ready at {self.sim.base_url} (pid {self.sim.process.pid})")
            if not args.live_simulator:
                warm = self.work / "warm-up.json"
                self.say("warm-up: the simulator generates every page of every case once (not measured)")
                also = ["--also-first", self.compare_first.isoformat()] if self.compare_first else []
                measured = run_measured("warm-up", [PYTHON, str(BENCH / "cases" / "floor.py"), "--base-url",
                                                    self.sim.base_url, "--admin-key", self.sim.admin_key, "--first",
                                                    self.first_day.isoformat(), "--last", self.last_day.isoformat(),
                                                    "--out", str(warm), "--warm-up", *also], self.env(), self.logs,
                                        args.case_timeout)
                # ... and the one-day run's requests and the entity lists, as the CLI sends them.
                day = self.last_day.isoformat()
                run_measured("warm-up", USAGE_PIPELINE + ["sync", "--start", day, "--end", day],
                             self.env(self.fresh("warm-up.duckdb")), self.logs, args.case_timeout)
                self.notes.append(f"warm-up (simulator generating {json.loads(warm.read_text())['pages']} pages once, "
                                  f"not in the table): {measured['seconds']:.1f} s; cache "
                                  f"{self.sim.stats()['cached_mib']:.0f} MiB")
            self.floor()
            self.pipeline_messages_usage("pipeline: messages usage", self.first_day, args.repeat)
            if self.compare_first:
                self.pipeline_messages_usage(f"pipeline: messages usage, {args.compare_days} days",
                                             self.compare_first, 1)
            year = self.pipeline_full()
            self.sources()
            self.marts(year)
            self.startup()
            if not args.skip_dlt:
                for file_format in args.dlt_formats:
                    self.dlt(None if file_format == "default" else file_format)
            self.incremental(year)
            queries = self.queries(year)
        finally:
            self.sim.stop()
        self.notes.append("load average (1, 5, 15 min) at start {:.2f} {:.2f} {:.2f}, at end {:.2f} {:.2f} {:.2f} "
                          "(other work on the machine adds noise)".format(*load_before, *os.getloadavg()))
        misses = {name: sum(run.get("cache_misses", 0) for run in case.runs) for name, case in self.cases.items()}
        if not self.args.live_simulator and any(misses.values()):
            self.notes.append("requests not served from the warm-up cache (generated live, in the case's time): "
                              + ", ".join(f"{name} {count}" for name, count in misses.items() if count))
        return self.report(time.perf_counter() - started, queries)

    # -- output --

    def report(self, total_seconds: float, queries: dict) -> dict:
        floor = self.cases["floor: httpx + json.loads"]
        rows = []
        for case in self.cases.values():
            ratio = case.seconds / floor.seconds if floor.seconds and case.same_window_as_floor else None
            rows.append({
                "case": case.name, "rows": case.rows, "seconds": round(case.seconds, 2),
                "requests": case.runs[-1].get("requests") if case.runs else None,
                "cpu_seconds": round(case.cpu_seconds, 2),
                "rows_per_second": round(case.rows_per_second) if case.rows_per_second else None,
                "peak_rss_mib": round(case.peak_rss_mib), "ratio_to_floor": round(ratio, 2) if ratio else None,
                "informational": case.informational, "runs": case.runs, "details": case.details,
            })
        result = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join([".venv/bin/python", "benchmarks/run.py", *sys.argv[1:]]),
            "machine": machine(),
            "window": {"first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(),
                       "days": self.args.days, "rows_per_hour": self.args.rows_per_hour, "seed": self.args.seed},
            "code": code_state(),
            "simulator": "live (no cache)" if self.args.live_simulator else "cached after one warm-up pass",
            "cases": rows,
            "targets": self.targets(queries),
            "queries": queries,
            "notes": self.notes,
            "total_seconds": round(total_seconds, 1),
        }
        return result

    def targets(self, queries: dict) -> list[dict]:
        c = self.cases
        floor = c["floor: httpx + json.loads"]
        ours = c["pipeline: messages usage"]
        checks = [{
            "target": f"messages usage sync <= {MAX_RATIO_TO_FLOOR:g}x the floor's time",
            "measured": f"{ours.seconds / floor.seconds:.2f}x ({ours.seconds:.1f} s vs {floor.seconds:.1f} s)",
            "met": ours.seconds <= MAX_RATIO_TO_FLOOR * floor.seconds,
        }]
        for name, case in c.items():
            if name.startswith("dlt") and case.rows and ours.rows:
                speedup = (case.seconds / case.rows) / (ours.seconds / ours.rows)
                checks.append({
                    "target": f">= {MIN_SPEEDUP_OVER_DLT:g}x faster per row than {name}",
                    "measured": f"{speedup:.1f}x ({case.seconds:.1f} s vs {ours.seconds:.1f} s)",
                    "met": speedup >= MIN_SPEEDUP_OVER_DLT,
                })
        pipeline_cases = [case for name, case in c.items() if name.startswith(("pipeline:", "incremental:"))]
        worst = max(pipeline_cases, key=lambda case: case.peak_rss_mib)
        checks.append({
            "target": f"peak RSS <= {MAX_PEAK_RSS_MIB:.0f} MiB (every pipeline case)",
            "measured": f"max {worst.peak_rss_mib:.0f} MiB ({worst.name})",
            "met": worst.peak_rss_mib <= MAX_PEAK_RSS_MIB,
        })
        short = next((case for name, case in c.items() if name.startswith("pipeline: messages usage, ")), None)
        if short:
            growth = ours.peak_rss_mib / short.peak_rss_mib
            checks.append({
                "target": f"peak RSS not growing with the window ({self.args.days} vs {self.args.compare_days} days, "
                          f"<= {MAX_RSS_GROWTH:g}x)",
                "measured": f"{growth:.2f}x ({ours.peak_rss_mib:.0f} vs {short.peak_rss_mib:.0f} MiB)",
                "met": growth <= MAX_RSS_GROWTH,
            })
        aged = c[f"incremental: 1 day on a {self.args.days}-day warehouse"]
        empty = c["incremental: 1 day on an empty warehouse"]
        checks.append({
            "target": f"1-day incremental on the {self.args.days}-day warehouse <= {MAX_INCREMENTAL_RATIO:g}x "
                      f"the same on an empty one",
            "measured": f"{aged.seconds / empty.seconds:.2f}x ({aged.seconds:.2f} s vs {empty.seconds:.2f} s, "
                        f"median of {len(aged.runs)})",
            "met": aged.seconds <= MAX_INCREMENTAL_RATIO * empty.seconds,
        })
        if queries.get("skipped"):
            checks.append({"target": f"README analyst queries < {MAX_QUERY_MS:g} ms each",
                           "measured": f"not measured: {queries['skipped']}", "met": None})
        else:
            for query in queries.get("queries", []):
                label = " ".join(query["sql"].split())[:60]
                worst = None if "error" in query else max(query["first_ms"], query["max_ms"])
                met = None if worst is None else worst < MAX_QUERY_MS
                measured = query.get("error") or (f"first (cold) {query['first_ms']} ms, then median "
                                                  f"{query['median_ms']} ms, max {query['max_ms']} ms")
                checks.append({"target": f"query < {MAX_QUERY_MS:g} ms: {label}", "measured": measured, "met": met})
        return checks


# --- formatting -----------------------------------------------------------------------------------

def markdown(result: dict) -> str:
    window = result["window"]
    lines = [
        f"Benchmark of {result['date']}: `{result['command']}`",
        "",
        f"Machine: {result['machine']}. Window {window['first_day']} .. {window['last_day']} ({window['days']} days), "
        f"{window['rows_per_hour']} usage rows/hour, seed {window['seed']}; simulator {result['simulator']}; "
        f"code {result['code']}.",
        "",
        "| case | rows | HTTP requests | seconds | CPU s | rows/s | peak RSS MiB | ratio to floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["cases"]:
        lines.append(
            f"| {row['case']} | {_n(row['rows'])} | {_n(row.get('requests'))} | {row['seconds']:.2f} | {row['cpu_seconds']:.2f} | "
            f"{_n(row['rows_per_second'])} | {row['peak_rss_mib']} | "
            f"{'' if row['ratio_to_floor'] is None else format(row['ratio_to_floor'], '.2f') + 'x'} |"
        )
    lines += ["", "| target (issue 7) | measured | met |", "|---|---|---|"]
    for check in result["targets"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[check["met"]]
        lines.append(f"| {check['target']} | {check['measured']} | {met} |")
    if result["notes"]:
        lines += [""] + [f"- {note}" for note in result["notes"]]
    return "\n".join(lines) + "\n"


def _n(value) -> str:
    return "-" if value is None else f"{value:,}"


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-").replace("--", "-")


def _count(warehouse: Path, tables: tuple[str, ...]) -> tuple[int, dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}
    return sum(counts.values()), counts


def _count_day(warehouse: Path, day: date) -> tuple[int, dict]:
    """Rows of the report tables on one UTC day (what a one-day run loads), and the warehouse's total."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        counts = {}
        for table in REPORT_TABLES:
            column = "date" if "claude_code" in table else "(bucket_start AT TIME ZONE 'UTC')::DATE"
            counts[table] = con.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", [day]).fetchone()[0]
        counts["warehouse raw.messages_usage rows"] = con.execute("SELECT count(*) FROM raw.messages_usage").fetchone()[0]
    return sum(v for k, v in counts.items() if k in REPORT_TABLES), counts


def code_state() -> str:
    """The commit measured, and whether the work tree had uncommitted changes (read-only git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "pipelines", "sql"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or 'unknown'}" + (f" + uncommitted changes in {len(dirty)} file(s) of pipelines/ and sql/" if dirty else "")


def machine() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, duckdb {duckdb.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365, help="days of history, ending yesterday (default 365)")
    parser.add_argument("--rows-per-hour", type=int, default=200, help="messages usage rows per hour (default 200)")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    parser.add_argument("--compare-days", type=int, default=90,
                        help="a shorter messages usage window, to show peak RSS does not grow (default 90; 0 = skip)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the floor and messages usage cases (median)")
    parser.add_argument("--incremental-repeats", type=int, default=3, help="runs of each incremental case (median)")
    parser.add_argument("--dlt-formats", default="default,parquet",
                        help="dlt loader file formats to run: 'default' (insert_values) and/or 'parquet'")
    parser.add_argument("--skip-dlt", action="store_true", help="do not run (or install) dlt")
    parser.add_argument("--live-simulator", action="store_true",
                        help="serve every request live instead of from the warm-up cache")
    parser.add_argument("--case-timeout", type=float, default=3600, help="seconds before a case is killed")
    parser.add_argument("--out-dir", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)
    if args.days < 2 or args.rows_per_hour < 1:
        parser.error("--days must be at least 2 and --rows-per-hour at least 1")
    args.dlt_formats = [f.strip() for f in args.dlt_formats.split(",") if f.strip()]
    if unknown := set(args.dlt_formats) - {"default", "parquet"}:
        parser.error(f"unknown --dlt-formats {', '.join(sorted(unknown))}")
    args.out_dir = args.out_dir.resolve()

    try:
        result = Benchmark(args).run()
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    text = markdown(result)
    print(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"benchmark-{stamp}", "latest"):
        (args.out_dir / f"{name}.json").write_text(json.dumps(result, indent=1, default=str))
        (args.out_dir / f"{name}.md").write_text(text)
    print(f"results: {args.out_dir / f'benchmark-{stamp}.md'} (and .json)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
