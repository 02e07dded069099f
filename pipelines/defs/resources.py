"""The Dagster resource every step takes: the pipeline's `Settings`, and what a step derives from it.

One settings model configures the CLI, `dagster dev` and the tests, so the resource is that model
itself (`dg.ResourceParam[Settings]`) rather than a second declaration of its fields. Admin keys
are read from the environment when a step starts and are never part of Dagster config, so they
cannot appear in run storage, the event log or the UI.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager

import dagster as dg

from pipelines.api import AdminApiClient, RequestBudget, RequestLimits
from pipelines.progress import Progress, WindowsDone
from pipelines.settings import SETTINGS, ConfigError, Settings
from pipelines.warehouse import restrict_new_files, writer_lock

ADMIN_KEY_ENV = "ANTHROPIC_ADMIN_KEY"

# Progress lines go to the run's event log and to this logger, which the CLI prints.
PROGRESS_LOGGER = logging.getLogger("pipelines.progress")
FLAGGED_ROWS_SHOWN = 5  # of a failed check, on the CLI's output
FLAGGED_ROW_CHARS = 200

SettingsResource = dg.ResourceParam[Settings]


def resources_from_settings(settings: Settings) -> dict[str, object]:
    """The resources every asset needs."""
    return {"settings": settings}


@contextmanager
def admin_api_clients(settings: Settings) -> Iterator[list[AdminApiClient]]:
    """One Admin API client per organization key in ANTHROPIC_ADMIN_KEY, read now."""
    keys = Settings.from_mapping({"admin_keys": os.environ.get(ADMIN_KEY_ENV, "")}).admin_keys
    if not keys:
        raise ConfigError(f"{ADMIN_KEY_ENV} is not set: " + SETTINGS["admin_keys"].help)
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                AdminApiClient(
                    key,
                    settings.base_url,
                    timeout_seconds=settings.timeout_seconds,
                    budget=RequestBudget(settings.requests_per_minute, settings.request_burst),
                    limits=request_limits(settings),
                    allow_insecure_http=settings.allow_insecure_http,
                )
            )
            for key in keys
        ]


@contextmanager
def writing_step(settings: Settings) -> Iterator[None]:
    """The warehouse's writer lock around one step that writes it (loads, snapshots, marts,
    publication): the one place a Dagster step takes it, so two runs never interleave their writes.
    What the step creates is private to the owner (or its group: USAGE_PIPELINE_SHARE_WITH_GROUP)."""
    restrict_new_files(settings.share_with_group)
    with writer_lock(settings.warehouse_path):
        yield


def progress_of(context: dg.AssetExecutionContext) -> Progress:
    """A progress callback that writes to the run's event log and to the CLI's logger (which
    receives a `WindowsDone` whole, as the record's `progress` attribute, to draw its display)."""

    def progress(event: str | WindowsDone) -> None:
        message = event if isinstance(event, str) else event.line
        context.log.info(message)
        PROGRESS_LOGGER.info(message, extra={"progress": event})

    return progress


def warn_failed_check(key: dg.AssetCheckKey, severity: str, summary: str,
                      flagged: Sequence[Mapping[str, object]] = (), total: int = 0) -> None:
    """A failed check as warning lines on the CLI's output: what failed, then its first flagged rows
    (of `total`), one line each, so a sync's reader need not open Dagster to see what to fix."""
    PROGRESS_LOGGER.warning(f"check {key.asset_key.to_user_string()} {key.name} ({severity}): {summary}")
    for row in flagged[:FLAGGED_ROWS_SHOWN]:
        line = ", ".join(f"{column}={value}" for column, value in row.items())
        if len(line) > FLAGGED_ROW_CHARS:
            line = line[:FLAGGED_ROW_CHARS - 3] + "..."
        PROGRESS_LOGGER.warning(f"  {line}")
    if total > FLAGGED_ROWS_SHOWN:
        PROGRESS_LOGGER.warning(f"  ... and {total - FLAGGED_ROWS_SHOWN} more")


def request_limits(settings: Settings) -> RequestLimits:
    """How long and how big the Admin API client's requests may be."""
    return RequestLimits(
        deadline_seconds=settings.request_deadline_seconds,
        max_response_bytes=settings.max_response_mb * 2**20,
        pages_deadline_seconds=settings.pages_deadline_seconds,
    )
