"""Dagster definitions: the settings resource, partitioned ingest assets, marts, serving, jobs and schedules.

`build_definitions(settings)` is the one way in: `dagster dev` loads it through
`pipelines/definitions.py`, and `usage-pipeline sync` builds its runs from the same jobs here.
"""

from pipelines.defs.jobs import build_definitions

__all__ = ["build_definitions"]
