"""Anthropic Admin API usage and cost data into a DuckDB warehouse, orchestrated by Dagster."""

from pipelines.memory import cap_malloc_arenas

__version__ = "0.1.0"

cap_malloc_arenas()  # before the worker threads start
