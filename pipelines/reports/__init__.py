"""The registry of API reports: every asset, job, `sync --reports` name, raw table, marts input and
publication comes from this list.

Adding a report is adding a folder beside these (see the README's "Adding a report") and one line here.
"""

from __future__ import annotations

from importlib import import_module

from pipelines.reports.spec import FetchedWindow, ReportSpec
from pipelines.settings import ConfigError

REPORT_PACKAGES = (
    "analytics_usage",
    "analytics_cost",
    "messages_usage",
    "cost_report",
    "claude_code_usage",
)

REPORTS: tuple[ReportSpec, ...] = tuple(import_module(f"{__name__}.{package}").REPORT for package in REPORT_PACKAGES)
REPORT_NAMES: tuple[str, ...] = tuple(report.name for report in REPORTS)


def reports_named(names: tuple[str, ...]) -> tuple[ReportSpec, ...]:
    """The reports of these names, in registry order; a ConfigError names the unknown ones."""
    if unknown := sorted(set(names) - set(REPORT_NAMES)):
        raise ConfigError(f"unknown report(s) {', '.join(unknown)}; choose from {', '.join(REPORT_NAMES)}")
    return tuple(report for report in REPORTS if report.name in names)


__all__ = ["REPORTS", "REPORT_NAMES", "FetchedWindow", "ReportSpec", "reports_named"]
