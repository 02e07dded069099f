"""Anthropic Admin API usage and cost data into a DuckDB warehouse, orchestrated by Dagster."""

from pipelines.memory import return_freed_memory

__version__ = "0.1.0"

return_freed_memory()  # before anything imports polars
