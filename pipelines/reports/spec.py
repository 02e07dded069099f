"""What one API report is to the pipeline: a `ReportSpec`, and the window of rows one fetch returns.

Everything about a report lives in its own folder under `pipelines/reports/` (spec, page decoder,
raw DDL, load-log day totals); the rest of the pipeline (assets, jobs, CLI, sync, load log, marts,
publication) reads it from here through the registry in `pipelines/reports/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeVar

import polars as pl

from pipelines.api import AdminApiClient
from pipelines.normalize import SchemaDrift
from pipelines.settings import Settings

OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True)
class FetchedWindow:
    """All rows of one request window [start, end), keyed by raw table name."""

    start: datetime
    end: datetime
    tables: dict[str, pl.DataFrame]
    pages: int
    requests: int
    drift: SchemaDrift


@dataclass(frozen=True)
class NoOptions:
    """For reports that are always requested the same way."""


def no_options(settings: Settings) -> NoOptions:
    return NoOptions()


@dataclass(frozen=True)
class ReportSpec(Generic[OptionsT]):
    """One report endpoint: the tables it feeds and how to fetch them, window by window.

    `folder` holds `raw.sql` (the DDL of `tables`, idempotent) and `day_totals.sql` (the per-day
    rows, tokens and cost of the first table for the load log; parameters `$organization_id`,
    `$window_start`, `$window_end`).
    """

    name: str
    """The asset key `raw/<name>` and the name `usage-pipeline sync --reports` takes."""
    description: str
    """What the rows are, for the Dagster UI."""
    tables: Mapping[str, str]
    """Raw table -> the column (DATE, or TIMESTAMPTZ in UTC) that places a row in a UTC day; the
    first table is the one the load log describes."""
    fetch: Callable[[AdminApiClient, datetime, datetime, OptionsT], FetchedWindow]
    """One request window [start, end) of whole UTC days, every page of it."""
    days_per_request: Callable[[OptionsT], int]
    """Whole days in the largest window one request (with its pages) may cover."""
    folder: Path
    options: Callable[[Settings], OptionsT] = no_options  # type: ignore[assignment]
    """The report's typed request options, from the settings."""
    job: str = "ingest_usage_and_cost"
    """The daily job (and schedule) that loads it: see `pipelines/defs/jobs.py`."""
    source: str | None = None
    """'analytics' or 'legacy' for the reports the source setting chooses between (see
    `pipelines/sources.py`); None for a report loaded whatever the setting."""
    replaced_by: str | None = None
    """A legacy report: the Analytics API report that loads its days instead. It runs first in a
    run, so that its fallback to this report is known."""

    @property
    def table(self) -> str:
        """The table the load log describes."""
        return next(iter(self.tables))

    @property
    def ddl(self) -> str:
        return (self.folder / "raw.sql").read_text()

    @property
    def day_totals_sql(self) -> str:
        return (self.folder / "day_totals.sql").read_text()

