"""Admin API response bodies -> typed polars frames shaped like the `raw.*` tables.

This package holds what every decoder shares (the page contract, the bucketed-report reader, drift
detection, column helpers) and the entity-list decoders; each report's own decoder is the
`decode.py` of its folder under `pipelines/reports/`.

The contract, for every decoder:
- One body in, one page out. A decoder takes the raw bytes of ONE response and returns the
  rows together with the envelope the pager continues with (`has_more` + `next_page` for
  reports, `has_more` + `last_id` for entity lists), so both come from one parse. Pure
  functions: no HTTP, no database.
- Frames have exactly the raw table's columns in DDL order and polars types, minus
  `organization_id` and `loaded_at` (and the SCD columns of entity tables), which the
  loader adds. Timestamps are UTC; money is exact DECIMAL, never float.
- Strict on measures: a token count, cost amount or bucket bound that is missing, null,
  negative (counts), fractional or of the wrong JSON type raises `MalformedPage`, as does a
  body that is not a page (truncated, HTML, `has_more` not a boolean). Nothing is guessed.
- Tolerant on dimensions: absent or null dimension keys are null (null is meaningful:
  workspace_id null = the default workspace), and enum columns are plain strings, so a new
  service tier or tool loads.
- Drift is kept, not dropped: fields without a column go to the row's `extras` JSON, and
  undocumented fields and enum values are counted in the page's `SchemaDrift` for the
  caller to log (`drift.warnings()`).
"""

from pipelines.normalize.drift import SchemaDrift
from pipelines.normalize.entities import (
    decode_api_keys_page,
    decode_invites_page,
    decode_organization,
    decode_users_page,
    decode_workspace_members_page,
    decode_workspaces_page,
)
from pipelines.normalize.pages import ClaudeCodePage, ListPage, MalformedPage, ReportPage

__all__ = [
    "ClaudeCodePage",
    "ListPage",
    "MalformedPage",
    "ReportPage",
    "SchemaDrift",
    "decode_api_keys_page",
    "decode_invites_page",
    "decode_organization",
    "decode_users_page",
    "decode_workspace_members_page",
    "decode_workspaces_page",
]
