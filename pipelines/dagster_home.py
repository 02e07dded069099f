"""The Dagster instance `usage-pipeline sync` records its runs in, shared with the Dagster UI.

Without it the CLI would run in a throwaway instance and the UI would show every asset as never
materialized. DAGSTER_HOME wins when set; otherwise the project's own `.dagster_home/` (beside
the config file, or in the working directory) is created with a minimal dagster.yaml. `dagster dev`
started in the repository finds the same folder through the repository's dagster.yaml;
`usage-pipeline ui` starts it on this folder from anywhere, a checkout or not.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.settings import DEFAULT_CONFIG_FILE

DAGSTER_HOME_DIR = ".dagster_home"
INSTANCE_CONFIG = """\
# The Dagster instance of this project: `usage-pipeline sync` records its runs here, and
# `usage-pipeline ui` (or `dagster dev` in the repository) shows them. SQLite storage in this folder.
telemetry:
  enabled: false
"""
# The code location, as the repository's workspace.yaml declares it (same name: schedule and
# sensor states are kept per location), for `usage-pipeline ui` outside a checkout.
WORKSPACE_CONFIG = """\
# Written by `usage-pipeline ui`: the code location of the installed package.
load_from:
  - python_module:
      module_name: pipelines.definitions
      attribute: defs
      location_name: anthropic_usage
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


def dagster_dev_command(home: Path, host: str, port: int) -> list[str]:
    """`dagster dev` on the project's instance and the installed package's code location."""
    workspace = home / "workspace.yaml"
    workspace.write_text(WORKSPACE_CONFIG)
    return [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", host, "-p", str(port)]
