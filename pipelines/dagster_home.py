"""The Dagster instance `usage-pipeline sync` records its runs in, shared with `dagster dev`.

Without it the CLI would run in a throwaway instance and the UI would show every asset as never
materialized. DAGSTER_HOME wins when set; otherwise the project's own `.dagster_home/` (beside
the config file, or in the working directory) is created with a minimal dagster.yaml.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.settings import DEFAULT_CONFIG_FILE

DAGSTER_HOME_DIR = ".dagster_home"
INSTANCE_CONFIG = """\
# The Dagster instance of this project: `usage-pipeline sync` records its runs here, and
# `DAGSTER_HOME=$PWD/.dagster_home dagster dev` shows them. SQLite storage in this folder.
telemetry:
  enabled: false
"""


def project_dagster_home(config_file: str | Path | None = None) -> Path:
    """DAGSTER_HOME, or `.dagster_home/` beside the config file (else in the working directory), ready to use."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    config = Path(config_file or os.environ.get("USAGE_PIPELINE_CONFIG") or DEFAULT_CONFIG_FILE)
    home = (config.parent if config.is_file() else Path.cwd()).resolve() / DAGSTER_HOME_DIR
    home.mkdir(parents=True, exist_ok=True)
    instance_config = home / "dagster.yaml"
    if not instance_config.exists():
        instance_config.write_text(INSTANCE_CONFIG)
    return home
