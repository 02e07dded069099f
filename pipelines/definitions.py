"""The Dagster code location: `dagster dev` loads `defs` from here (see workspace.yaml).

Loading is lazy (`@dg.definitions`): importing this module reads no settings and builds nothing.
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs import build_definitions
from pipelines.memory import cap_malloc_arenas
from pipelines.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    cap_malloc_arenas()  # before the worker threads start
    return build_definitions(Settings.load())
