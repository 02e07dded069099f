"""Dagster definitions: resources, partitioned ingest assets, jobs and schedules."""
