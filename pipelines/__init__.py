"""Anthropic Admin API usage and cost data into a DuckDB warehouse, orchestrated by Dagster."""

__version__ = "0.1.0"
