"""Fetching the entity lists from the Admin API (each report's requests live in its folder under `pipelines/reports/`)."""
