"""The `usage-pipeline` command line: demo, sync, sql, report, chargeback, alerts, ui, simulate.

Errors the user can fix (a rejected key, a bad date, a locked warehouse, a malformed page, a full
disk, a read-only folder) are printed as one clear line on stderr with exit status 1, never as a
traceback and never with the admin key in them; text from the API in them, and in progress lines,
is printed without control characters.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from pipelines import __version__
from pipelines.api import AdminApiError
from pipelines.alerts import deliver, run_failed_alert
from pipelines.chargeback import ChargebackError, write_chargeback
from pipelines.cost_centers import read_cost_centers
from pipelines.api.client import check_api_key, check_base_url
from pipelines.dagster_home import dagster_dev_command, project_dagster_home
from pipelines.ingest import WindowLoadError
from pipelines.notify import DeliveryError, channels, send
from pipelines.output import check_output, output_name
from pipelines.progress import ProgressDisplay
from pipelines.publish import NoServingCopyError
from pipelines.query import FORMATS, QueryError
from pipelines.report import ReportError
from pipelines.reports import REPORT_NAMES, reports_named
from pipelines.settings import SETTINGS, ConfigError, Settings
from pipelines.terminal import first_line, one_line, printable
from pipelines.warehouse import (
    WRITER_LOCK_TIMEOUT_SECONDS,
    UnsafePathError,
    WarehouseBusyError,
    refuse_unsafe_paths,
    restrict_new_files,
)

USER_ERRORS = (AdminApiError, DeliveryError, ConfigError, WindowLoadError, WarehouseBusyError, NoServingCopyError,
               QueryError, ReportError, UnsafePathError, ChargebackError)
# What to do about a file system refusing a write (or a read), by errno.
FILE_SYSTEM_HINTS = {
    errno.ENOSPC: "free some disk space (or point the path elsewhere), then run the same command again",
    errno.EDQUOT: "free some of your disk quota (or point the path elsewhere), then run the same command again",
    errno.EROFS: "that file system is read-only: point the path at a writable folder",
    errno.EACCES: "make the folder writable (and the file readable) for this user, or point the path elsewhere",
    errno.EPERM: "make the folder writable (and the file readable) for this user, or point the path elsewhere",
    errno.EISDIR: "the path is a directory: point it at a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder: fix the path",
    errno.ENAMETOOLONG: "the path is too long: use a shorter one",
    errno.ELOOP: "the path is a symbolic link the pipeline does not follow (or a loop of links): fix the path",
}
# DuckDB reports the same problems as text; and a path that is not a DuckDB file at all.
DUCKDB_FILE_PROBLEMS = {os.strerror(number): hint for number, hint in FILE_SYSTEM_HINTS.items()} | {
    "not a valid DuckDB database file": "point WAREHOUSE_PATH (or USAGE_PIPELINE_SERVING_PATH) at a DuckDB file",
}
MAX_WAIT_SECONDS = 86_400.0
MAX_DEMO_DAYS = 731
MAX_ROWS_PER_HOUR = 100_000
MAX_REFRESH_LAG_HOURS = 24 * 365  # the Analytics API serves the last 365 days
EPILOG = "Settings (environment variables):\n" + "\n".join(
    f"  {setting.env or f'{setting.key} (config file)':<42} {setting.help}" for setting in SETTINGS.values()
)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    progress = args.progress = _show_progress(verbose=getattr(args, "verbose", False))
    try:
        return args.handler(args)
    except BaseExceptionGroup as group:  # several steps of one run failed
        user_errors, other_errors = group.split(lambda exc: _user_fixable(exc) is not None)
        if other_errors is not None or user_errors is None:
            raise
        return _fail(progress, [_user_fixable(exc) for exc in _leaves(user_errors)])
    except Exception as exc:
        if (message := _user_fixable(exc)) is None:
            raise
        return _fail(progress, [message])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        progress.finish()
        logging.getLogger("pipelines").removeHandler(progress)  # a second main() in this process draws anew


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="usage-pipeline",
        description="Load an Anthropic organization's usage, cost and Claude Code data into DuckDB.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", help="TOML config file (default: usage-pipeline.toml if present)")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the pipeline against the built-in simulator (no key needed) and print a summary",
        description="Start the Admin API simulator on a free loopback port, sync the last --days days "
        "into the warehouse (default data/demo.duckdb), and print spend per workspace and top API keys.",
    )
    demo.add_argument("--days", type=int, default=30, help="days of history to load (default 30)")
    demo.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    demo.add_argument("--warehouse", help="DuckDB file to write (default data/demo.duckdb)")
    demo.set_defaults(handler=_demo)

    sync = commands.add_parser(
        "sync",
        help="load a range of UTC days from the Admin API (default: the daily schedule's lookback window)",
        description="Snapshot the entity lists, then load the reports for --start..--end (inclusive UTC days) "
        "in one run, replacing those days atomically, then rebuild the marts (with their checks) and publish the "
        "serving copy. Without dates: today, yesterday and the lookback days.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sync.add_argument("--start", help="first UTC day, YYYY-MM-DD")
    sync.add_argument("--end", help="last UTC day, YYYY-MM-DD (inclusive)")
    sync.add_argument(
        "--reports",
        default=",".join(REPORT_NAMES),
        help=f"comma-separated reports to load, of {', '.join(REPORT_NAMES)} (default: all)",
    )
    sync.add_argument("--skip-entities", action="store_true", help="do not snapshot users, workspaces, keys...")
    sync.add_argument(
        "--wait",
        type=float,
        default=WRITER_LOCK_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="if another sync is writing the same warehouse, wait this long for it to finish, then give up "
        f"(default {WRITER_LOCK_TIMEOUT_SECONDS:.0f}; 0 = exit at once)",
    )
    sync.add_argument("--verbose", action="store_true", help="also print one line per request window loaded")
    sync.set_defaults(handler=_sync)

    sql = commands.add_parser(
        "sql",
        help="run a SQL query on the serving copy (read-only) and print the result",
        description="Run one SQL query on the serving copy (USAGE_PIPELINE_SERVING_PATH, default\n"
        "serving.duckdb beside the warehouse), read-only, and print the result. The serving copy is\n"
        "what the last successful sync published, so a query never waits for (or blocks) a running\n"
        "sync. Analysts query schema `marts` (see the README's Marts section); `raw` holds the API's data.",
        epilog='example:\n  usage-pipeline sql "SELECT workspace_name, sum(cost_usd) AS cost_usd '
        'FROM marts.workspace_monthly_cost GROUP BY 1 ORDER BY 2 DESC"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sql.add_argument("query", help="the SQL to run (quote it for the shell)")
    sql.add_argument(
        "--format", choices=FORMATS, default="table",
        help="table: aligned columns for reading (default); csv: with a header row; json: an array of objects "
        "(money as exact decimal strings)",
    )
    sql.set_defaults(handler=_sql)

    report = commands.add_parser(
        "report",
        help="write the spend report (one self-contained HTML file with charts) from the serving copy",
        description="Render the spend report from the serving copy: daily spend by workspace, month to date "
        "against last month with a forecast, top users and API keys, model mix, cache hit ratio and Claude Code "
        "adoption. One HTML file with inline SVG charts: it fetches nothing, so it opens offline and can be mailed.",
    )
    report.add_argument("--output", default="spend-report.html",
                        help="HTML file to write, - for standard output (default spend-report.html)")
    report.set_defaults(handler=_report)

    chargeback = commands.add_parser(
        "chargeback",
        help="write a month's chargeback per cost center (CSV) from the serving copy",
        description="Write the month's billed cost per cost center, team and workspace (the mapping of "
        "USAGE_PIPELINE_COST_CENTERS_FILE and the config file's [[cost_centers]] rows, as of each day) from the "
        "serving copy's marts.cost_center_daily_cost: each cost center's lines and total, unmapped cost last, and "
        "the month's total, which equals its bill. Money is exact decimal text.",
    )
    chargeback.add_argument("--month", required=True, help="the UTC month, YYYY-MM")
    chargeback.add_argument("--output", required=True, help="CSV file to write, - for standard output")
    chargeback.set_defaults(handler=_chargeback)

    alerts = commands.add_parser(
        "alerts",
        help="alert channels: `alerts test` sends a test message to the webhook and/or email configured",
        description="Alerts (budget crossed, forecast over budget, anomaly, failed run, stale data) go to "
        "USAGE_PIPELINE_ALERT_WEBHOOK_URL and/or by email (USAGE_PIPELINE_SMTP_*) after each sync, once per "
        "subject and day. `alerts test` sends one test message to every configured channel.",
    )
    alert_actions = alerts.add_subparsers(title="actions", required=True, metavar="ACTION")
    alerts_test = alert_actions.add_parser(
        "test",
        help="send a test message to every configured channel",
        description="Send one test message to the alert webhook (USAGE_PIPELINE_ALERT_WEBHOOK_URL) and/or by "
        "email (USAGE_PIPELINE_SMTP_HOST, _FROM, _TO; _USER and _PASSWORD to log in), to check that alerts arrive. "
        "Exit 1 naming the channel that did not take it, or the missing setting; never prints the webhook URL or "
        "the password.",
    )
    alerts_test.set_defaults(handler=_alerts_test)

    ui = commands.add_parser(
        "ui",
        help="start the Dagster UI (dagster dev) on the instance `sync` records its runs in",
        description="Start `dagster dev` (the Dagster UI and its daemon, which runs the schedules and sensors you "
        "turn on) with DAGSTER_HOME set to the project's instance: DAGSTER_HOME if set, else .dagster_home beside "
        "usage-pipeline.toml (or in the working directory). The UI then shows the materializations, checks and runs "
        "of `usage-pipeline sync`. Works outside a checkout: the code location is the installed package.",
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    ui.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    ui.set_defaults(handler=_ui)

    simulate = commands.add_parser(
        "simulate",
        help="serve the Admin API simulator on 127.0.0.1 until interrupted",
        description="Serve a deterministic synthetic organization over the Admin API on 127.0.0.1. "
        "Point ANTHROPIC_BASE_URL at it and use the printed demo key as ANTHROPIC_ADMIN_KEY.",
    )
    simulate.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 = any free)")
    simulate.add_argument("--seed", type=int, default=7, help="organization seed (default 7)")
    simulate.add_argument("--rows-per-hour", type=int, default=24, help="usage rows per hour (default 24)")
    simulate.add_argument("--fault-rate", type=float, default=0.0, help="share of requests given a transient fault (0..1)")
    simulate.add_argument(
        "--org-type", choices=("console", "enterprise"), default="console",
        help="console (default): an Admin API key's organization; enterprise: a Claude Enterprise organization "
        "whose key reads only the Analytics API and /me",
    )
    simulate.add_argument("--refresh-lag-hours", type=float, default=0.0,
                          help="how far the Analytics API's data_refreshed_at lags now (default 0)")
    simulate.set_defaults(handler=_simulate)
    return parser


def _fail(progress: ProgressDisplay, messages: list[str | None]) -> int:
    """Print each error once, last: after the progress display is done (so it cannot redraw over them)."""
    progress.finish()
    for message in dict.fromkeys(messages):
        print(f"error: {message}", file=sys.stderr)
    return 1


def _user_fixable(exc: BaseException) -> str | None:
    """The one line to print for an error the user can fix, or None for a bug (left to its traceback)."""
    if isinstance(exc, USER_ERRORS):
        return one_line(str(exc))
    if isinstance(exc, OSError) and exc.errno in FILE_SYSTEM_HINTS:
        where = f": {exc.filename}" if exc.filename else ""
        return one_line(f"{exc.strerror}{where}; {FILE_SYSTEM_HINTS[exc.errno]}")
    if isinstance(exc, duckdb.Error):
        for problem, hint in DUCKDB_FILE_PROBLEMS.items():
            if problem in str(exc):
                return one_line(f"{first_line(exc)}; {hint}")
    return None


def _settings(args: argparse.Namespace) -> Settings:
    """The settings of a command; what it creates from then on is private to the owner (or its group)."""
    settings = Settings.load(config_file=args.config)
    restrict_new_files(settings.share_with_group)
    return settings


def _sync(args: argparse.Namespace) -> int:
    from pipelines.defs.alerting import alert_after_sync
    from pipelines.sync import SyncRange, run_sync

    settings = _settings(args)
    _check_keys(settings.require_keys())
    # a bad mapping stops the sync before any request
    read_cost_centers(settings.cost_centers_file, settings.cost_centers)
    _check_transport(settings)
    refuse_unsafe_paths(
        {"WAREHOUSE_PATH": settings.warehouse_path, "USAGE_PIPELINE_SERVING_PATH": settings.serving_path},
        settings.parquet_dir,
    )
    sync_range = SyncRange.resolve(settings, args.start, args.end)
    reports = reports_named(tuple(name.strip() for name in args.reports.split(",") if name.strip()))
    if not 0 <= args.wait <= MAX_WAIT_SECONDS:  # also refuses nan
        raise ConfigError(f"--wait must be >= 0 and <= {MAX_WAIT_SECONDS:.0f} seconds, got {args.wait}")
    _say(f"syncing {sync_range.first_day} .. {sync_range.last_day} into {settings.warehouse_path}")
    try:
        results = run_sync(settings, sync_range, reports=tuple(report.name for report in reports),
                           entities=not args.skip_entities, wait_seconds=args.wait,
                           on_wait=_waiting_for(settings.warehouse_path, args.wait),
                           dagster_home=project_dagster_home(args.config))
    except (ConfigError, WarehouseBusyError):
        raise  # nothing ran
    except Exception as exc:
        deliver(settings, [run_failed_alert("usage-pipeline sync", exc, partial=isinstance(exc, WindowLoadError))])
        raise
    args.progress.finish()
    alert_after_sync(settings, results)
    _say(f"done: {settings.warehouse_path}; published for readers: {settings.serving_path}")
    return 0


def _sql(args: argparse.Namespace) -> int:
    from pipelines.query import run_query, write_result

    settings = _settings(args)
    columns, rows = run_query(settings.serving_path, args.query)
    write_result(columns, rows, sys.stdout, args.format)
    return 0


def _report(args: argparse.Namespace) -> int:
    from pipelines.report import write_report

    settings = _settings(args)
    check_output("report --output", args.output, settings)
    write_report(settings.serving_path, args.output)
    _say(f"report written to {output_name(args.output)}")
    return 0


def _chargeback(args: argparse.Namespace) -> int:
    settings = _settings(args)
    check_output("chargeback --output", args.output, settings)
    total = write_chargeback(settings.serving_path, args.month, args.output)
    _say(f"chargeback for {args.month} written to {output_name(args.output)} (total {total} USD)")
    return 0


def _alerts_test(args: argparse.Namespace) -> int:
    settings = Settings.load(config_file=args.config)
    if not channels(settings):
        raise ConfigError("no alert channel: set USAGE_PIPELINE_ALERT_WEBHOOK_URL, and/or USAGE_PIPELINE_SMTP_HOST, "
                          "USAGE_PIPELINE_SMTP_FROM and USAGE_PIPELINE_SMTP_TO")
    delivered = send(settings, "[usage-pipeline] test alert",
                     "A test message from `usage-pipeline alerts test`: alerts reach this channel.")
    _say(f"test alert sent by {', '.join(delivered)}")
    return 0


def _ui(args: argparse.Namespace) -> int:
    _settings(args)  # a bad setting is one line here, not an error inside the UI
    if not 0 < args.port <= 65535:
        raise ConfigError(f"--port must be from 1 to 65535, got {args.port}")
    home = project_dagster_home(args.config)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    if args.config:  # the code location reads the settings from the same file
        env["USAGE_PIPELINE_CONFIG"] = str(Path(args.config).resolve())
    _say(f"Dagster UI on http://{args.host}:{args.port}, instance {home}; Ctrl-C stops it")
    command = dagster_dev_command(home, args.host, args.port)
    os.execve(command[0], command, env)  # Ctrl-C goes straight to dagster dev, which shuts down its processes


def _check_keys(keys: tuple[str, ...]) -> None:
    """Reject unusable keys (spaces, non-ASCII) with one line, before a run starts; never shows them."""
    for key in keys:
        try:
            check_api_key(key)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


def _check_transport(settings: Settings) -> None:
    """Refuse, before a run starts, a base URL the key must not travel to and unusable request limits."""
    try:
        check_base_url(settings.base_url, allow_insecure_http=settings.allow_insecure_http)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _waiting_for(warehouse: str, wait_seconds: float):
    """What a sync says when another one holds the warehouse: it waits, then gives up clearly."""
    return lambda holder: _say(
        f"another sync ({printable(holder)}) is writing {warehouse}; "
        f"waiting up to {wait_seconds:.0f} s for it to finish"
    )


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        leaves += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return leaves


def _demo(args: argparse.Namespace) -> int:
    from admin_api_simulator import DEMO_ADMIN_KEY, Simulator
    from pipelines.summary import print_summary
    from pipelines.sync import SyncRange, run_sync

    if not 1 <= args.days <= MAX_DEMO_DAYS:
        raise ConfigError(f"--days must be at least 1 and at most {MAX_DEMO_DAYS}")
    warehouse, serving, parquet = _demo_files(args.warehouse)
    restrict_new_files()
    today = datetime.now(UTC).date()
    os.environ["ANTHROPIC_ADMIN_KEY"] = DEMO_ADMIN_KEY  # the simulator's public demo key, not a secret
    with Simulator(seed=args.seed) as simulator:
        _say(f"simulator serving a synthetic organization at {simulator.base_url}")
        settings = Settings.from_mapping(
            {
                "base_url": simulator.base_url,
                "warehouse_path": warehouse,
                "serving_path": serving,
                "parquet_dir": parquet,
                "start_date": (today - timedelta(days=args.days)).isoformat(),
                "requests_per_minute": 0,  # the simulator has no rate limit to respect
            }
        )
        sync_range = SyncRange(today - timedelta(days=args.days - 1), today)
        _say(f"syncing the last {args.days} days into {warehouse}")
        run_sync(settings, sync_range, on_wait=_waiting_for(warehouse, WRITER_LOCK_TIMEOUT_SECONDS),
                 dagster_home=project_dagster_home(args.config))
    args.progress.finish()
    print_summary(settings.serving_path)
    reader = f"USAGE_PIPELINE_SERVING_PATH={settings.serving_path} usage-pipeline"
    _say(f"\nwarehouse: {warehouse}; serving copy for queries: {settings.serving_path}")
    _say(f'try: {reader} sql "SELECT * FROM marts.workspace_monthly_cost"  or  {reader} report')
    return 0


def _demo_files(warehouse_option: str | None) -> tuple[str, str, str]:
    """The demo's warehouse, serving copy and Parquet export: its own files, `<name>-serving.duckdb`
    and `<name>-parquet` beside its warehouse, so it never publishes over a real warehouse's. A
    `--warehouse` that is a real warehouse's file (the configured one, or the default) is refused."""
    warehouse = Path(warehouse_option or Path("data") / "demo.duckdb")
    files = (str(warehouse), str(warehouse.with_name(f"{warehouse.stem}-serving.duckdb")),
             str(warehouse.with_name(f"{warehouse.stem}-parquet")))
    refuse_unsafe_paths({"demo --warehouse": files[0], "the demo's serving copy": files[1]}, files[2])
    if warehouse_option:
        try:
            real = Settings.load()
        except ConfigError:
            real = Settings.from_mapping({})
        real_files = {Path(real.warehouse_path).resolve(), Path(real.serving_path).resolve()}
        if {Path(file).resolve() for file in files[:2]} & real_files:
            raise UnsafePathError(
                f"demo --warehouse {warehouse} is a real warehouse's file (WAREHOUSE_PATH "
                f"{real.warehouse_path}, serving copy {real.serving_path}); the demo writes synthetic data "
                "into its own files only: choose another path")
    return files


def _simulate(args: argparse.Namespace) -> int:
    from admin_api_simulator import DEMO_ADMIN_KEY, Faults, Simulator

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, got {args.port}")
    if not 0 <= args.fault_rate <= 1:  # also refuses nan
        raise ConfigError(f"--fault-rate must be from 0 to 1, got {args.fault_rate}")
    if not 1 <= args.rows_per_hour <= MAX_ROWS_PER_HOUR:
        raise ConfigError(f"--rows-per-hour must be from 1 to {MAX_ROWS_PER_HOUR}, got {args.rows_per_hour}")
    if not 0 <= args.refresh_lag_hours <= MAX_REFRESH_LAG_HOURS:  # also refuses nan
        raise ConfigError(f"--refresh-lag-hours must be from 0 to {MAX_REFRESH_LAG_HOURS}, got {args.refresh_lag_hours}")

    simulator = Simulator(
        seed=args.seed,
        port=args.port,
        usage_rows_per_hour=args.rows_per_hour,
        faults=Faults(rate=args.fault_rate),
        org_type=args.org_type,
        refresh_lag_hours=args.refresh_lag_hours,
    )
    simulator.start()
    print(f"Admin API simulator at {simulator.base_url} (seed {args.seed}, {args.org_type} organization); Ctrl-C stops it.")
    print(f"  export ANTHROPIC_BASE_URL={simulator.base_url}")
    print(f"  export ANTHROPIC_ADMIN_KEY={DEMO_ADMIN_KEY}")
    sys.stdout.flush()
    try:
        simulator.serve_forever()
    finally:
        simulator.stop()
    return 0


def _show_progress(verbose: bool) -> ProgressDisplay:
    """Progress (a live display on a terminal) and API retry warnings, on stderr."""
    display = ProgressDisplay(sys.stderr, verbose=verbose)
    display.setFormatter(_PrintableFormatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    package_logger = logging.getLogger("pipelines")
    package_logger.addHandler(display)
    package_logger.setLevel(logging.INFO)
    return display


class _PrintableFormatter(logging.Formatter):
    """Progress and retry lines quote the API (organization names, schema drift, error messages)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
