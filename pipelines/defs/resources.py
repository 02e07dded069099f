"""Dagster resources: the Admin API clients, the warehouse path and where it is published.

Admin keys are read from the environment when a run starts and are never part of Dagster
config, so they cannot appear in run storage, the event log or the UI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal

import dagster as dg
from pydantic import Field

from pipelines.api import AdminApiClient, RequestBudget
from pipelines.settings import BUCKET_WIDTHS, DEFAULT_BUCKET_WIDTH, SETTINGS, ConfigError, Settings


class AdminApiResource(dg.ConfigurableResource):
    """One Admin API client per organization key in the key environment variable."""

    base_url: str = Field(description="Admin API base URL.")
    key_env_var: str = Field(
        default="ANTHROPIC_ADMIN_KEY",
        description="Environment variable holding the admin key(s), comma-separated for several organizations.",
    )
    requests_per_minute: float = Field(default=30.0, description="Client-side request budget; 0 = unlimited.")
    request_burst: int = Field(default=20, description="Requests allowed back to back before pacing.")
    timeout_seconds: float = Field(default=60.0, description="Read timeout of one request.")
    beta: list[str] = Field(default_factory=list, description="anthropic-beta values to send.")

    @contextmanager
    def clients(self) -> Iterator[list[AdminApiClient]]:
        keys = Settings.from_mapping({"admin_keys": os.environ.get(self.key_env_var, "")}).admin_keys
        if not keys:
            raise ConfigError(f"{self.key_env_var} is not set: " + SETTINGS["admin_keys"].help)
        with ExitStack() as stack:
            yield [
                stack.enter_context(
                    AdminApiClient(
                        key,
                        self.base_url,
                        beta=tuple(self.beta),
                        timeout_seconds=self.timeout_seconds,
                        budget=RequestBudget(self.requests_per_minute, self.request_burst),
                    )
                )
                for key in keys
            ]


class WarehouseResource(dg.ConfigurableResource):
    """Where the pipeline's DuckDB file lives; only the pipeline opens it read-write."""

    path: str = Field(description="Path of the DuckDB warehouse file.")


class ServingResource(dg.ConfigurableResource):
    """Where the read-only copy for analysts and BI tools, and the Parquet export, are published."""

    serving_path: str = Field(description="Path of the serving DuckDB copy.")
    parquet_dir: str = Field(description="Path of the Parquet export (a symlink switched at each publication).")


class ReportOptionsResource(dg.ConfigurableResource):
    """How the messages usage report is requested."""

    bucket_width: str = Field(default=DEFAULT_BUCKET_WIDTH, description=f"Bucket width: one of {', '.join(BUCKET_WIDTHS)}.")
    group_by_speed: bool = Field(default=False, description="Also group by speed (fast-mode beta).")


class MartOptionsResource(dg.ConfigurableResource):
    """How the marts are built: optional monthly budgets per workspace for the spend signals."""

    budgets_usd: dict[str, str] = Field(
        default_factory=dict, description="Monthly budget in USD (a decimal string) by workspace name or ID."
    )

    def budgets(self) -> dict[str, Decimal]:
        return {workspace: Decimal(amount) for workspace, amount in self.budgets_usd.items()}


def resources_from_settings(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resources every asset needs, configured from one Settings object."""
    return {
        "admin_api": AdminApiResource(
            base_url=settings.base_url,
            requests_per_minute=settings.requests_per_minute,
            request_burst=settings.request_burst,
            timeout_seconds=settings.timeout_seconds,
            beta=["fast-mode-2026-02-01"] if settings.group_by_speed else [],
        ),
        "warehouse": WarehouseResource(path=settings.warehouse_path),
        "serving": ServingResource(serving_path=settings.serving_path, parquet_dir=settings.parquet_dir),
        "report_options": ReportOptionsResource(
            bucket_width=settings.bucket_width, group_by_speed=settings.group_by_speed
        ),
        "mart_options": MartOptionsResource(budgets_usd={name: str(amount) for name, amount in settings.budgets}),
    }
